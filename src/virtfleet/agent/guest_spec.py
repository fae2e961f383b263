"""InstanceSpec (what the conductor sends) -> GuestSpec (what the driver builds)."""

from __future__ import annotations

import pathlib

from oslo_config import cfg

from virtfleet.objects.instance import InstanceSpec
from virtfleet.virt.libvirt import host as libvirt_host
from virtfleet.virt.types import GuestSpec

CONSOLE_LOG = "console.log"


def instances_path(conf: cfg.ConfigOpts) -> pathlib.Path:
    """``[libvirt] instances_path``, else ``<data_dir>/instances``."""
    return pathlib.Path(libvirt_host.instances_path(conf)).resolve()


def to_guest_spec(conf: cfg.ConfigOpts, instance: InstanceSpec) -> GuestSpec:
    """The driver's view of ``instance``, with this host's instance dir and console log."""
    instance_dir = instances_path(conf) / instance.uuid
    return GuestSpec(
        instance_uuid=instance.uuid,
        name=instance.name,
        vcpus=instance.vcpus,
        memory_mb=instance.memory_mb,
        root_gb=instance.root_gb,
        flavor_name=instance.flavor_name,
        extra_specs=dict(instance.extra_specs),
        image_id=instance.image_id or "",
        image_properties=dict(instance.image_properties),
        image_path=instance.image_path,
        image_format=instance.image_format,
        kernel_path=instance.kernel_path,
        ramdisk_path=instance.ramdisk_path,
        cmdline=instance.kernel_cmdline,
        instance_dir=str(instance_dir),
        console_log_path=str(instance_dir / CONSOLE_LOG),
        metadata=dict(instance.metadata),
        guest=instance.guest_request,
    )
