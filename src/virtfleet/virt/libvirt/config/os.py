"""Guest ``<os>``: type/arch/machine, firmware, loader, NVRAM, direct kernel boot."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    YESNO,
    Element,
    attr,
    child,
    children,
    text,
    text_child,
)


@dataclass(kw_only=True)
class OsType(Element):
    """``<type arch='x86_64' machine='q35'>hvm</type>``."""

    TAG = "type"
    arch: str | None = attr()
    machine: str | None = attr()
    value: str | None = text(default="hvm")


@dataclass(kw_only=True)
class Loader(Element):
    """``<loader readonly='yes' secure='no' type='pflash'>path</loader>``."""

    TAG = "loader"
    readonly: bool | None = attr(codec=YESNO)
    secure: bool | None = attr(codec=YESNO)
    type: str | None = attr()
    path: str | None = text()


@dataclass(kw_only=True)
class Nvram(Element):
    """``<nvram template='...'>path</nvram>``."""

    TAG = "nvram"
    template: str | None = attr()
    path: str | None = text()


@dataclass(kw_only=True)
class BootDevice(Element):
    """``<boot dev='hd'/>``."""

    TAG = "boot"
    dev: str | None = attr()


@dataclass(kw_only=True)
class Smbios(Element):
    """``<smbios mode='sysinfo'/>``."""

    TAG = "smbios"
    mode: str | None = attr()


@dataclass(kw_only=True)
class Os(Element):
    """Guest ``<os>``; ``firmware='efi'`` lets libvirt pick loader and NVRAM."""

    TAG = "os"
    firmware: str | None = attr()
    type: OsType = child(OsType, required=True)
    loader: Loader | None = child(Loader)
    nvram: Nvram | None = child(Nvram)
    kernel: str | None = text_child()
    initrd: str | None = text_child()
    cmdline: str | None = text_child()
    boot: list[BootDevice] = children(BootDevice)
    smbios: Smbios | None = child(Smbios)
