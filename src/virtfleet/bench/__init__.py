"""Benchmarks: ``virtfleet bench placement`` (see docs/benchmarks.md).

Layout: :mod:`.fleet` generates a deterministic fleet as plain data, :mod:`.load`
bulk-loads it into virtfleet's database, :mod:`.shapes` lists the candidate
requests, :mod:`.queries` times them over HTTP (:mod:`.web`), :mod:`.scheduling`
times scheduling + claim, :mod:`.openstack` (with ``placement_server.py``, run in
OpenStack Placement's own virtualenv) does the same rows on Placement,
:mod:`.compare` checks both engines found the same hosts, :mod:`.runner` puts it
together and :mod:`.report` prints the table and the JSON.
"""
