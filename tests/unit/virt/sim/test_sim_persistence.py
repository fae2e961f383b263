"""Simulated hosts keep their domains in a state file and read them back, as libvirtd
keeps guests when virtfleet dies: running guests run on, defined ones stay defined,
a stopped transient one is gone."""

from __future__ import annotations

import json
from pathlib import Path

import libvirt

from virtfleet.virt.connection import open_connection
from virtfleet.virt.sim.fleet import default_fleet
from virtfleet.virt.sim.registry import persist_fleet

from .conftest import domain_xml

RUNNING = "11111111-2222-3333-4444-555555555555"
DEFINED = "11111111-2222-3333-4444-666666666666"


def test_domains_survive_a_new_process(tmp_path: Path) -> None:
    first = default_fleet()
    assert persist_fleet(first, tmp_path) == 0
    conn = open_connection("sim://kvm-1", first)
    conn.defineXML(domain_xml("run", uuid=RUNNING)).create()
    conn.defineXML(domain_xml("def", uuid=DEFINED))
    saved = json.loads((tmp_path / "kvm-1.json").read_text())
    assert len(saved["domains"]) == 2

    second = default_fleet()  # a new process: a new fleet object, empty hypervisors
    assert persist_fleet(second, tmp_path) == 2
    again = open_connection("sim://kvm-1", second)
    assert again.lookupByUUIDString(RUNNING).state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert again.lookupByUUIDString(DEFINED).isActive() == 0
    assert again.lookupByName("run").isPersistent() == 1
    assert open_connection("sim://kvm-2", second).listAllDomains(0) == []


def test_changes_after_restore_are_written(tmp_path: Path) -> None:
    fleet = default_fleet()
    persist_fleet(fleet, tmp_path)
    conn = open_connection("sim://kvm-1", fleet)
    dom = conn.defineXML(domain_xml("gone", uuid=RUNNING))
    dom.undefine()
    assert json.loads((tmp_path / "kvm-1.json").read_text())["domains"] == []


def test_an_unreadable_state_file_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "kvm-1.json").write_text("{not json")
    fleet = default_fleet()
    assert persist_fleet(fleet, tmp_path) == 0
    assert open_connection("sim://kvm-1", fleet).listAllDomains(0) == []
