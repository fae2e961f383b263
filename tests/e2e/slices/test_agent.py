"""The agent and slices: checked at start (a bad configuration stops the agent before
it reports anything), reshaped on restart without losing what running guests hold."""

from __future__ import annotations

import json
import pathlib

import pytest

from support.control import profile_agent_conf
from support.slice_cloud import (
    HOST,
    SLICE_1,
    SLICE_4,
    SLICES_DIR,
    SliceCloud,
    root_uuid,
)
from virtfleet import errors
from virtfleet.agent import image_cache
from virtfleet.agent.manager import ComputeAgent
from virtfleet.control_plane import ImageServiceSource
from virtfleet.db import hosts
from virtfleet.virt.sim.agentconf import conf_overrides


def spec_lines(cloud: SliceCloud) -> list[str]:
    lines = conf_overrides(cloud.fleet.host(HOST))["libvirt__slice_spec"]
    assert isinstance(lines, list)
    return [str(line) for line in lines]


def without(lines: list[str], *names: str) -> list[str]:
    return [line for line in lines if json.loads(line)["name"] not in names]


def restart(cloud: SliceCloud, tmp_path: pathlib.Path, lines: list[str]) -> ComputeAgent:
    """Stop the agent and start a new one with ``lines`` as its slice_spec."""
    cloud.agent.stop()
    conf = cloud.agent_conf(HOST, libvirt__slice_spec=lines)
    images = image_cache.from_conf(conf, ImageServiceSource(cloud.images))
    agent = ComputeAgent(conf, HOST, cloud.driver, cloud.transport, images=images)
    agent.start()
    cloud.agent = agent
    return agent


def slice_providers(cloud: SliceCloud) -> set[str]:
    return {
        p.name.removeprefix(f"{HOST}_")
        for p in cloud.placement.list_providers(in_tree=root_uuid())
        if p.uuid != root_uuid()
    }


def test_a_bad_configuration_stops_the_agent_before_it_reports(
    cloud: SliceCloud, tmp_path: pathlib.Path
) -> None:
    extra = {
        "name": "extra",
        "resource_class": "CUSTOM_X",
        "template": "<domain><vcpu cpuset='99'>1</vcpu></domain>",
    }
    bad = [*spec_lines(cloud), json.dumps(extra)]
    other = tmp_path / "other"
    conf = profile_agent_conf(cloud.fleet, HOST, other, host="gpu-new", libvirt__slice_spec=bad)
    agent = ComputeAgent(conf, "gpu-new", cloud.driver, cloud.transport)
    with pytest.raises(errors.ConfigError) as caught:
        agent.start()
    assert str(caught.value) == (
        "slice_spec 'extra': pins host CPUs 99 the host does not have (host CPUs 0-63)"
    )
    assert agent.last_report is None
    assert "gpu-new" not in {h.host for h in hosts.list_hosts(cloud.db)}


def test_removing_a_slice_in_use_is_refused_with_a_message(
    cloud: SliceCloud, tmp_path: pathlib.Path
) -> None:
    guest = cloud.boot_slice(SLICE_1)
    assert cloud.taken(guest.uuid) == {"slice-1-0"}
    before = slice_providers(cloud)
    with pytest.raises(errors.ConfigError) as caught:
        restart(cloud, tmp_path, without(spec_lines(cloud), "slice-1-0", "slice-1-1"))
    assert str(caught.value) == (
        f"slice_spec: slice 'slice-1-0' is in use by instance {guest.uuid}; it cannot be "
        "removed until that guest is deleted"
    )
    # nothing was reported: not even the free slice-1-1 the new configuration drops
    assert slice_providers(cloud) == before
    assert "slice-1-1" in before
    assert cloud.taken(guest.uuid) == {"slice-1-0"}


def test_changing_the_slices_below_a_slice_in_use_is_refused(
    cloud: SliceCloud, tmp_path: pathlib.Path
) -> None:
    guest = cloud.boot_slice(SLICE_4)
    assert "slice-1-3" in cloud.taken(guest.uuid)
    with pytest.raises(errors.ConfigError, match=r"slice_spec 'slice-4-0': in use by instance"):
        restart(cloud, tmp_path, without(spec_lines(cloud), "slice-1-3"))


def test_reshaping_on_restart_keeps_the_allocations_of_running_guests(
    cloud: SliceCloud, tmp_path: pathlib.Path
) -> None:
    guest = cloud.boot_slice(SLICE_1)
    # slice-1-7 is renamed slice-1-7b (same CPUs and GPU)
    template = (SLICES_DIR / "slice-1.xml.j2").read_text().replace('"slice-1-7"', '"slice-1-7b"')
    renamed = {"name": "slice-1-7b", "resource_class": SLICE_1, "template": template}
    lines = [
        *without(spec_lines(cloud), "slice-1-7"),
        json.dumps({**renamed, "conflict_parent": "slice-4-1"}),
    ]
    restart(cloud, tmp_path, lines)
    assert "slice-1-7" not in slice_providers(cloud)
    assert "slice-1-7b" in slice_providers(cloud)
    assert cloud.taken(guest.uuid) == {"slice-1-0"}
    assert cloud.placement.get_provider(root_uuid()).name == HOST
    second = cloud.boot_slice(SLICE_1)
    assert second.vm_state == "active"
    assert cloud.taken(second.uuid) == {"slice-1-1"}


def test_a_slice_whose_guest_vanished_keeps_its_allocation_on_reshape(
    cloud: SliceCloud, tmp_path: pathlib.Path
) -> None:
    """The agent only sees running guests; when a slice guest's domain was removed
    behind virtfleet's back, the agent starts with the slice dropped, but the control
    plane keeps the provider while the server's allocation is on it."""
    guest = cloud.boot_slice(SLICE_1)
    domain = cloud.driver.connection.lookupByUUIDString(guest.uuid)
    domain.destroy()
    domain.undefine()
    restart(cloud, tmp_path, without(spec_lines(cloud), "slice-1-0", "slice-1-1"))
    providers = slice_providers(cloud)
    assert "slice-1-0" in providers  # kept: it holds the allocation
    assert "slice-1-1" not in providers  # free: removed
    assert cloud.taken(guest.uuid) == {"slice-1-0"}
