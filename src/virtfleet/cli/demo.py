"""`virtfleet demo`: the embedded control plane on the sample fleet, and a guided tour.

The tour uses only the public APIs, as an operator would with the `openstack` CLI. Each
capability adds a scene: a function that takes the client and the tour's record and
prints what it did.
"""

from __future__ import annotations

import json
import pathlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from virtfleet.cli import tour as scenes
from virtfleet.cli.apiclient import APIError, Client
from virtfleet.cli.up import admin_client, build_cloud, fleet_option, running, wait_for_signal

DISK = b"\0" * (1 << 20)  # a 1 MiB raw disk; simulated hosts never read it


@dataclass
class Tour:
    """What the tour created, for the summary."""

    flavors: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    servers: list[dict[str, Any]] = field(default_factory=list)
    arch_of_host: dict[str, str] = field(default_factory=dict)


Scene = Callable[[Client, Tour], None]


def scene_fleet(client: Client, tour: Tour) -> None:
    click.secho("\n== The fleet", bold=True)
    for hyp in client.hypervisors():
        info = hyp.get("cpu_info") or {}
        arch = info.get("arch", "?") if isinstance(info, dict) else "?"
        tour.arch_of_host[hyp["hypervisor_hostname"]] = arch
        click.echo(
            f"  {hyp['hypervisor_hostname']:<14} {arch:<8} {hyp.get('vcpus', '?'):>4} vCPU "
            f"{hyp.get('memory_mb', '?'):>7} MiB  {hyp.get('state', '?')}"
        )


def scene_catalogue(client: Client, tour: Tour) -> None:
    click.secho("\n== Flavors and images", bold=True)
    for name, vcpus, ram, disk in (
        ("m1.small", 1, 512, 1),
        ("m1.large", 4, 8192, 20),
        ("m1.huge", 64, 4194304, 100),
    ):
        tour.flavors[name] = client.create_flavor(name, vcpus, ram, disk)["id"]
        click.echo(f"  flavor {name}: {vcpus} vCPU, {ram} MiB, {disk} GB")
    for name, props in (
        ("debian-x86_64", {"hw_architecture": "x86_64"}),
        ("debian-arm64", {"hw_emulation_architecture": "aarch64"}),
        ("debian-s390x", {"hw_emulation_architecture": "s390x"}),
    ):
        tour.images[name] = client.create_image(name, DISK, props)
        shown = ", ".join(f"{k}={v}" for k, v in props.items())
        click.echo(f"  image {name}: {shown}")


def _boot_and_report(
    client: Client, tour: Tour, name: str, flavor: str, image: str
) -> dict[str, Any]:
    server_id = client.boot(name, tour.flavors[flavor], tour.images[image])
    server = client.wait_server(server_id)
    tour.servers.append({**server, "name": name, "image_name": image})
    host = server.get("OS-EXT-SRV-ATTR:host") or "-"
    if server["status"] == "ACTIVE":
        host_arch = tour.arch_of_host.get(host, "?")
        click.echo(f"  {name:<10} ACTIVE on {host} ({host_arch} host) from {image}")
    else:
        fault = (server.get("fault") or {}).get("message", "no fault recorded")
        click.echo(f"  {name:<10} {server['status']}: {fault}")
    return server


def scene_boot(client: Client, tour: Tour) -> None:
    click.secho(
        "\n== Emulated architectures: native beats emulated (hw_emulation_architecture)", bold=True
    )
    _boot_and_report(client, tour, "web-1", "m1.small", "debian-x86_64")
    _boot_and_report(client, tour, "arm-1", "m1.small", "debian-arm64")
    mainframe = _boot_and_report(client, tour, "mainframe-1", "m1.small", "debian-s390x")
    if mainframe["status"] == "ACTIVE":
        click.echo(f"    domain XML: {scenes.emulation_evidence(client, mainframe['id'])}")


def scene_address_bits(client: Client, tour: Tour) -> None:
    click.secho("\n== Guest physical address bits (hw:maxphysaddr_*)", bold=True)
    for name, specs in (
        ("m1.bits48", {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "48"}),
        ("m1.passthrough", {"hw:maxphysaddr_mode": "passthrough"}),
    ):
        tour.flavors[name] = client.create_flavor(name, 1, 512, 1)["id"]
        client.set_extra_specs(tour.flavors[name], specs)
        shown = ", ".join(f"{k}={v}" for k, v in specs.items())
        click.echo(f"  flavor {name}: {shown}")
    bits48 = _boot_and_report(client, tour, "bits-48", "m1.bits48", "debian-x86_64")
    if bits48["status"] == "ACTIVE":
        click.echo(f"    domain XML: {scenes.maxphysaddr_element(client, bits48['id'])}")
    _boot_and_report(client, tour, "passthru", "m1.passthrough", "debian-x86_64")
    # 8 GiB of RAM (plus the PCI hole below 4 GiB) cannot be addressed with 32 bits.
    tour.flavors["m1.8g-bits32"] = client.create_flavor("m1.8g-bits32", 1, 8192, 1)["id"]
    try:
        client.set_extra_specs(
            tour.flavors["m1.8g-bits32"],
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "32"},
        )
    except APIError as exc:
        click.echo(f"  refused at once: {_api_message(exc)}")


def _api_message(exc: APIError) -> str:
    """The human message inside an API error body."""
    try:
        body = json.loads(exc.body)
        inner = next(iter(body.values()))
        return str(inner.get("message", exc.body))
    except (ValueError, StopIteration, AttributeError):
        return exc.body


def scene_unplaceable(client: Client, tour: Tour) -> None:
    click.secho("\n== A request no host can take, and why", bold=True)
    _boot_and_report(client, tour, "too-big", "m1.huge", "debian-x86_64")


def scene_slices(client: Client, tour: Tour) -> None:
    click.secho("\n== A slice taken, its overlapping parents blocked (placement)", bold=True)
    specs = {"resources:CUSTOM_SLICE_1": "1", "resources:VCPU": "0"}
    specs |= {"resources:MEMORY_MB": "0", "resources:DISK_GB": "0"}
    tour.flavors["gpu.1"] = client.create_flavor("gpu.1", 7, 57344, 0)["id"]
    client.set_extra_specs(tour.flavors["gpu.1"], specs)
    click.echo("  flavor gpu.1: resources:CUSTOM_SLICE_1=1 (one eighth of slice-1)")
    scenes.slice_scene(client, _booter(client, tour), "gpu.1", "debian-x86_64")


def scene_vgpu(client: Client, tour: Tour) -> None:
    click.secho("\n== A vGPU guest live-migrated with its mdev", bold=True)
    specs = {"resources:VGPU": "1", "trait:CUSTOM_MDEV_NVIDIA_222": "required"}
    tour.flavors["vgpu.t4-2q"] = client.create_flavor("vgpu.t4-2q", 2, 4096, 10)["id"]
    client.set_extra_specs(tour.flavors["vgpu.t4-2q"], specs)
    click.echo("  flavor vgpu.t4-2q: resources:VGPU=1, trait:CUSTOM_MDEV_NVIDIA_222=required")
    scenes.vgpu_scene(client, _booter(client, tour), "vgpu.t4-2q", "debian-x86_64")


def scene_dashboard(client: Client, tour: Tour) -> None:
    scenes.dashboard_scene(client.endpoint)


def _booter(client: Client, tour: Tour) -> scenes.BootFn:
    def boot(name: str, flavor: str, image: str) -> dict[str, Any]:
        return _boot_and_report(client, tour, name, flavor, image)

    return boot


SCENES: list[Scene] = [
    scene_fleet,
    scene_catalogue,
    scene_boot,
    scene_address_bits,
    scene_slices,
    scene_vgpu,
    scene_unplaceable,
    scene_dashboard,
]


def run_tour(client: Client, scenes: list[Scene] = SCENES) -> Tour:
    """Run every scene; an API error ends the tour with its message."""
    tour = Tour()
    started = time.monotonic()
    for scene in scenes:
        try:
            scene(client, tour)
        except APIError as exc:
            raise click.ClickException(f"the tour failed in {scene.__name__}: {exc}") from None
    click.secho("\n== Summary", bold=True)
    for server in tour.servers:
        if server.get("id"):  # where it is now (the vGPU guest moved)
            server.update(client.server(server["id"]))
        click.echo(
            f"  {server['name']:<12} {server['status']:<7} "
            f"{server.get('OS-EXT-SRV-ATTR:host') or '-':<14} {server['image_name']}"
        )
    click.echo(f"\nThe tour took {time.monotonic() - started:.1f} s.")
    return tour


@click.command()
@fleet_option
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the tour.")
def demo(
    fleet_file: pathlib.Path | None,
    libvirt_uris: tuple[str, ...],
    config_files: tuple[str, ...],
    listen: str | None,
    data_dir: pathlib.Path | None,
    clouds_yaml: pathlib.Path | None,
    exit_after: bool,
) -> None:
    """Start the embedded control plane and take a tour through its APIs."""
    data_dir = data_dir or pathlib.Path(tempfile.mkdtemp(prefix="virtfleet-demo-"))
    cloud = build_cloud(fleet_file, libvirt_uris, config_files, listen, data_dir)
    with running(cloud, clouds_yaml) as live:
        click.echo(f"virtfleet is up at {live.endpoint}; data in {data_dir}")
        run_tour(admin_client(live))
        if exit_after:
            return
        click.echo("\nStill serving. Try:  openstack --os-cloud virtfleet server list")
        click.echo("Stop with Ctrl-C.")
        wait_for_signal()
