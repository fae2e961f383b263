"""Quotas: Keystone unified limits enforced on what projects use.

:mod:`.resources` turns a flavor into the resources one server uses (Nova's unified
limit names: ``servers``, ``class:VCPU``, ``class:MEMORY_MB``, ``class:DISK_GB``,
``class:<any resource class>``); :mod:`.usage` counts a project's usage inside the
write transaction that admits a new server or image; :mod:`.limits` asks oslo.limit
(:mod:`virtfleet.identity.limits`) whether the usage plus the request stays within the
limits, and reports limits and usage (os-quota-sets, /limits, Networking quotas).
"""
