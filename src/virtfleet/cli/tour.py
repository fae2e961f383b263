"""The tour's capability scenes: slices, vGPU live migration and the dashboard.

Each scene uses only the public APIs an operator's `openstack` CLI uses (Compute,
Placement) and prints the evidence in a line or two.
"""

from __future__ import annotations

import re
import time
from typing import Any, Protocol

import click

from virtfleet.cli.apiclient import Client
from virtfleet.cli.slices import PLACEMENT_VERSION, guest_names, host_tree
from virtfleet.virt.libvirt.slices.status import slice_statuses

_MDEV_UUID = re.compile(r"<hostdev[^>]*type=.mdev.*?<address uuid=.([0-9a-f-]{36}).", re.S)
_MAXPHYSADDR = re.compile(r"<maxphysaddr[^>]*/>")
_DOMAIN_TYPE = re.compile(r"<domain[^>]*type=.(\w+).")
_OS_TYPE = re.compile(r"<type[^>]*arch=.(\w+).[^>]*>")


class BootFn(Protocol):
    def __call__(self, name: str, flavor: str, image: str) -> dict[str, Any]: ...


def placement(client: Client, path: str) -> Any:
    return client.request(
        "GET", "/placement" + path, headers={"OpenStack-API-Version": PLACEMENT_VERSION}
    )


def domain_xml(client: Client, server_id: str) -> str:
    """The guest's libvirt XML, as `GET /servers/{id}/os-domain-xml` (admin) gives it."""
    return str(client.compute("GET", f"/servers/{server_id}/os-domain-xml")["domain_xml"])


def maxphysaddr_element(client: Client, server_id: str) -> str:
    found = _MAXPHYSADDR.search(domain_xml(client, server_id))
    return found.group(0) if found else "(no <maxphysaddr> element)"


def emulation_evidence(client: Client, server_id: str) -> str:
    """The domain type and guest arch of a server's XML (``qemu`` is TCG emulation)."""
    xml = domain_xml(client, server_id)
    kind, arch = _DOMAIN_TYPE.search(xml), _OS_TYPE.search(xml)
    return (
        f"<domain type='{kind.group(1) if kind else '?'}'>, "
        f"guest arch {arch.group(1) if arch else '?'}"
    )


def _provider_names(client: Client, server_id: str, resource_class: str) -> list[str]:
    """Names of the providers the server's allocation takes ``resource_class`` from."""
    allocations = placement(client, f"/allocations/{server_id}")["allocations"]
    names = []
    for rp_uuid, alloc in sorted(allocations.items()):
        if resource_class in alloc["resources"]:
            names.append(str(placement(client, f"/resource_providers/{rp_uuid}")["name"]))
    return names


def show_slices(client: Client, host: str) -> None:
    """The host's slice tree as placement sees it: the guest's slice and what it blocks."""
    providers = host_tree(client, host)
    names = guest_names(client, {c for p in providers for c in p.consumers})
    statuses = slice_statuses(providers, names)
    free = 0
    for status in statuses:
        if status.state == "free":
            free += 1
        else:
            click.echo(f"    {status.line()}")
    click.echo(f"    ({free} other slices of {host} stay free)")


def slice_scene(client: Client, boot: BootFn, flavor_id: str, image: str) -> None:
    """Boot a 1-GPU slice guest on slice-1 and show the blocked ancestors."""
    server = boot("train-1", flavor_id, image)
    if server["status"] == "ACTIVE":
        show_slices(client, str(server.get("OS-EXT-SRV-ATTR:host")))


def _mdev_uuids(client: Client, server_id: str) -> list[str]:
    return _MDEV_UUID.findall(domain_xml(client, server_id))


def wait_moved(client: Client, server_id: str, source: str, timeout: float) -> dict[str, Any]:
    """Poll until the live migration leaves ``source`` behind, or fails, or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        moved = server.get("OS-EXT-SRV-ATTR:host") != source
        idle = server.get("OS-EXT-STS:task_state") is None
        if (idle and (moved or server["status"] != "MIGRATING")) or time.monotonic() > deadline:
            return server
        time.sleep(0.1)


def last_migration(client: Client, server_id: str) -> dict[str, Any]:
    migrations = client.compute("GET", f"/os-migrations?instance_uuid={server_id}")["migrations"]
    return dict(max(migrations, key=lambda m: m["id"])) if migrations else {}


def vgpu_scene(client: Client, boot: BootFn, flavor_id: str, image: str) -> None:
    """Boot a guest with a T4 mdev, live-migrate it, show the claim and the mdev moved."""
    server = boot("vgpu-vm", flavor_id, image)
    if server["status"] != "ACTIVE":
        return
    sid, source = server["id"], str(server.get("OS-EXT-SRV-ATTR:host"))
    gpus_before, mdevs_before = _provider_names(client, sid, "VGPU"), _mdev_uuids(client, sid)
    click.echo(f"    VGPU from {', '.join(gpus_before)}; mdev {', '.join(mdevs_before)}")
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    client.compute("POST", f"/servers/{sid}/action", body)
    after = wait_moved(client, sid, source, timeout=60.0)
    target = after.get("OS-EXT-SRV-ATTR:host")
    status = last_migration(client, sid).get("status", "?")
    click.echo(f"  vgpu-vm    live-migrated {source} -> {target}: migration {status}")
    gpus_after, mdevs_after = _provider_names(client, sid, "VGPU"), _mdev_uuids(client, sid)
    click.echo(f"    claim moved: VGPU from {', '.join(gpus_after)}")
    rewritten = "rewritten" if mdevs_after and mdevs_after != mdevs_before else "NOT rewritten"
    click.echo(f"    mdev uuid {rewritten}: {', '.join(mdevs_after)}")


def dashboard_scene(endpoint: str) -> None:
    click.secho("\n== Where to look in the dashboard", bold=True)
    base = endpoint.rstrip("/") + "/dashboard"
    click.echo(f"  {base}/            the fleet: hosts by architecture, capacity, address bits")
    click.echo(f"  {base}/hosts/slice-1  the slice tree: train-1's slice and its blocked parents")
    click.echo(f"  {base}/gpus        GPUs, mdev types and who uses them (vgpu-vm)")
    click.echo(f"  {base}/migrations  migrations with live progress; {base}/servers: guests")
    click.echo("  (log in with the admin user of clouds.yaml)")
