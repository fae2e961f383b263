"""Guest ``<devices>`` and the device elements virtfleet writes, in libvirt's order."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    INT,
    ONOFF,
    YESNO,
    Element,
    attr,
    child,
    children,
    flag,
    text,
    text_child,
)


@dataclass(kw_only=True)
class DiskDriver(Element):
    """``<driver name='qemu' type='qcow2' cache='none'/>``."""

    TAG = "driver"
    name: str | None = attr()
    type: str | None = attr()
    cache: str | None = attr()


@dataclass(kw_only=True)
class DiskSource(Element):
    """``<source file='/path'/>``."""

    TAG = "source"
    file: str | None = attr()
    dev: str | None = attr()


@dataclass(kw_only=True)
class DiskTarget(Element):
    """``<target dev='vda' bus='virtio'/>``."""

    TAG = "target"
    dev: str | None = attr()
    bus: str | None = attr()


@dataclass(kw_only=True)
class Disk(Element):
    """``<disk type='file' device='disk'>``."""

    TAG = "disk"
    type: str | None = attr()
    device: str | None = attr()
    driver: DiskDriver | None = child(DiskDriver)
    source: DiskSource | None = child(DiskSource)
    target: DiskTarget | None = child(DiskTarget)
    readonly: bool = flag()
    serial: str | None = text_child()


@dataclass(kw_only=True)
class Mac(Element):
    """``<mac address='52:54:00:..'/>``."""

    TAG = "mac"
    address: str | None = attr()


@dataclass(kw_only=True)
class InterfaceSource(Element):
    """``<source network='default'/>``."""

    TAG = "source"
    network: str | None = attr()
    bridge: str | None = attr()


@dataclass(kw_only=True)
class ModelType(Element):
    """``<model type='virtio'/>`` (interfaces)."""

    TAG = "model"
    type: str | None = attr()


@dataclass(kw_only=True)
class InterfaceTarget(Element):
    """``<target dev='tap...'/>``: the host-side device name."""

    TAG = "target"
    dev: str | None = attr()


@dataclass(kw_only=True)
class Mtu(Element):
    """``<mtu size='1450'/>``."""

    TAG = "mtu"
    size: int | None = attr(codec=INT)


@dataclass(kw_only=True)
class Interface(Element):
    """``<interface type='bridge|network|user'>``."""

    TAG = "interface"
    type: str | None = attr()
    mac: Mac | None = child(Mac)
    source: InterfaceSource | None = child(InterfaceSource)
    target: InterfaceTarget | None = child(InterfaceTarget)
    model: ModelType | None = child(ModelType)
    mtu: Mtu | None = child(Mtu)


@dataclass(kw_only=True)
class CharSource(Element):
    """``<source path='/path/console.log' append='on'/>``."""

    TAG = "source"
    path: str | None = attr()
    append: bool | None = attr(codec=ONOFF)


@dataclass(kw_only=True)
class CharTarget(Element):
    """``<target type='serial|sclp|...' port='0'/>``."""

    TAG = "target"
    type: str | None = attr()
    port: int | None = attr(codec=INT)


@dataclass(kw_only=True)
class CharLog(Element):
    """``<log file='/path/console.log' append='on'/>``: a copy of a character device's
    output (QEMU's chardev ``logfile``)."""

    TAG = "log"
    file: str | None = attr()
    append: bool | None = attr(codec=ONOFF)


@dataclass(kw_only=True)
class Serial(Element):
    """``<serial type='file|pty'>`` (a pty's ``source path`` is in the live XML)."""

    TAG = "serial"
    type: str | None = attr()
    source: CharSource | None = child(CharSource)
    log: CharLog | None = child(CharLog)
    target: CharTarget | None = child(CharTarget)


@dataclass(kw_only=True)
class Console(Element):
    """``<console type='file|pty'>`` (same shape as a serial port)."""

    TAG = "console"
    type: str | None = attr()
    source: CharSource | None = child(CharSource)
    log: CharLog | None = child(CharLog)
    target: CharTarget | None = child(CharTarget)


@dataclass(kw_only=True)
class ChannelTarget(Element):
    """``<target type='virtio' name='org.qemu.guest_agent.0'/>``."""

    TAG = "target"
    type: str | None = attr()
    name: str | None = attr()


@dataclass(kw_only=True)
class Channel(Element):
    """``<channel type='unix'>``: a virtio-serial port (the QEMU guest agent's)."""

    TAG = "channel"
    type: str | None = attr()
    target: ChannelTarget | None = child(ChannelTarget)


@dataclass(kw_only=True)
class Graphics(Element):
    """``<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>``; the port libvirt
    picked is in the live XML."""

    TAG = "graphics"
    type: str | None = attr()
    port: int | None = attr(codec=INT)
    autoport: bool | None = attr(codec=YESNO)
    listen: str | None = attr()


@dataclass(kw_only=True)
class Input(Element):
    """``<input type='tablet' bus='usb'/>``."""

    TAG = "input"
    type: str | None = attr()
    bus: str | None = attr()


@dataclass(kw_only=True)
class VideoModel(Element):
    """``<model type='virtio' heads='1' primary='yes'/>``."""

    TAG = "model"
    type: str | None = attr()
    heads: int | None = attr(codec=INT)
    primary: bool | None = attr(codec=YESNO)


@dataclass(kw_only=True)
class Video(Element):
    """``<video>``."""

    TAG = "video"
    model: VideoModel | None = child(VideoModel)


@dataclass(kw_only=True)
class Address(Element):
    """A PCI address (domain/bus/slot/function, hex strings) or an mdev's uuid."""

    TAG = "address"
    type: str | None = attr()
    domain: str | None = attr()
    bus: str | None = attr()
    slot: str | None = attr()
    function: str | None = attr()
    uuid: str | None = attr()


@dataclass(kw_only=True)
class HostdevSource(Element):
    """``<source><address .../></source>``."""

    TAG = "source"
    address: Address | None = child(Address)


@dataclass(kw_only=True)
class Hostdev(Element):
    """``<hostdev mode='subsystem' type='pci|mdev'>``."""

    TAG = "hostdev"
    mode: str | None = attr()
    type: str | None = attr()
    managed: bool | None = attr(codec=YESNO)
    model: str | None = attr()
    display: bool | None = attr(codec=ONOFF)
    source: HostdevSource | None = child(HostdevSource)


@dataclass(kw_only=True)
class MemBalloon(Element):
    """``<memballoon model='virtio|none'/>``."""

    TAG = "memballoon"
    model: str | None = attr()


@dataclass(kw_only=True)
class RngBackend(Element):
    """``<backend model='random'>/dev/urandom</backend>``."""

    TAG = "backend"
    model: str | None = attr()
    path: str | None = text()


@dataclass(kw_only=True)
class Rng(Element):
    """``<rng model='virtio'>``."""

    TAG = "rng"
    model: str | None = attr()
    backend: RngBackend | None = child(RngBackend)


@dataclass(kw_only=True)
class Devices(Element):
    """``<devices>``; lists are written in libvirt's device order."""

    TAG = "devices"
    emulator: str | None = text_child()
    disks: list[Disk] = children(Disk)
    interfaces: list[Interface] = children(Interface)
    serials: list[Serial] = children(Serial)
    consoles: list[Console] = children(Console)
    channels: list[Channel] = children(Channel)
    inputs: list[Input] = children(Input)
    graphics: list[Graphics] = children(Graphics)
    videos: list[Video] = children(Video)
    hostdevs: list[Hostdev] = children(Hostdev)
    memballoon: MemBalloon | None = child(MemBalloon)
    rngs: list[Rng] = children(Rng)
