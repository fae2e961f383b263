"""Guest ``<cpu>``: mode, model, topology, maxphysaddr and features, in libvirt's order."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    INT,
    Element,
    attr,
    child,
    children,
    text,
    text_child,
)


@dataclass(kw_only=True)
class CpuModel(Element):
    """``<model fallback='forbid'>qemu64</model>``."""

    TAG = "model"
    fallback: str | None = attr()
    name: str | None = text()


@dataclass(kw_only=True)
class CpuTopology(Element):
    """``<topology sockets dies cores threads/>``."""

    TAG = "topology"
    sockets: int | None = attr(codec=INT)
    dies: int | None = attr(codec=INT)
    cores: int | None = attr(codec=INT)
    threads: int | None = attr(codec=INT)


@dataclass(kw_only=True)
class MaxPhysAddr(Element):
    """``<maxphysaddr mode='emulate|passthrough' bits='N'/>``."""

    TAG = "maxphysaddr"
    mode: str | None = attr()
    bits: int | None = attr(codec=INT)
    limit: int | None = attr(codec=INT)


@dataclass(kw_only=True)
class CpuFeature(Element):
    """``<feature policy='require|disable|...' name='...'/>``."""

    TAG = "feature"
    policy: str | None = attr()
    name: str | None = attr()


@dataclass(kw_only=True)
class Cpu(Element):
    """Guest ``<cpu>``."""

    TAG = "cpu"
    mode: str | None = attr()
    match: str | None = attr()
    check: str | None = attr()
    migratable: str | None = attr()
    model: CpuModel | None = child(CpuModel)
    vendor: str | None = text_child()
    topology: CpuTopology | None = child(CpuTopology)
    maxphysaddr: MaxPhysAddr | None = child(MaxPhysAddr)
    features: list[CpuFeature] = children(CpuFeature)
