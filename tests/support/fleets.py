"""Fleet files of current x86_64 KVM hosts for the tests' simulated clouds."""

from __future__ import annotations

KVM_DEFAULTS = """
defaults:
  arch: x86_64
  virt_type: kvm
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  cpus: 16
  disk_gb: 200
"""


def kvm_fleet(hosts: str, defaults: str = "") -> str:
    """A fleet file of ``hosts`` (the lines below ``hosts:``) with :data:`KVM_DEFAULTS`
    (x86_64 KVM, libvirt 9.0.0, QEMU 8.2.0, 16 CPUs, 200 GB of disk) plus the default
    lines in ``defaults`` (indented by two spaces; keys the defaults above lack)."""
    return f"{KVM_DEFAULTS}{defaults}hosts:\n{hosts}"
