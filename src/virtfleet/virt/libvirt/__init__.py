"""The libvirt driver and what it is made of.

- :mod:`.config` — typed XML objects (domain, capabilities, node devices); no policy.
- :mod:`.host` — host discovery into :class:`~virtfleet.virt.types.HostInfo`;
  :mod:`.traits` maps discovered capabilities to os-traits.
- :mod:`.guest` — resolves flavor + image + host into one decision and builds the
  domain from it; :mod:`.requests` reads and validates extra specs / image properties.
- :mod:`.images` — instance disks (qcow2 overlays).
- :mod:`.driver` — :class:`~.driver.LibvirtDriver`, the agent's interface.
"""
