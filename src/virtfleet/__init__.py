"""virtfleet: a compute control plane for libvirt/QEMU fleets."""

__version__ = "0.1.0"
