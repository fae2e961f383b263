"""The cloud fixture family (support/clouds.py, support/plugin.py) starts what it says:
an embedded simulated cloud of each variant (SQLite; PostgreSQL when the test server
answers), and the real-libvirt cloud."""

from __future__ import annotations

import pytest

from support.cloud import Cloud
from support.clouds import VARIANTS, Variant
from support.plugin import StartSimCloud
from virtfleet.db import hosts

FLEET = """
defaults: {virt_type: kvm, arch: x86_64, cpus: 4, memory_mb: 8192, disk_gb: 40}
hosts:
  - {name: family-a}
  - {name: family-b}
"""


@pytest.mark.parametrize("cloud_variant", VARIANTS, indirect=True)
def test_a_sim_cloud_of_each_variant_reports_its_hosts_on_its_database(
    start_sim_cloud: StartSimCloud, cloud_variant: Variant
) -> None:
    view = start_sim_cloud(FLEET, hosts=2)
    names = sorted(h["hypervisor_hostname"] for h in view.client.hypervisors())
    assert names == ["family-a", "family-b"]
    assert view.control.db.is_postgresql == (cloud_variant.database == "postgresql")
    assert {r.host for r in hosts.list_hosts(view.control.db)} == {"family-a", "family-b"}
    assert view.hypervisor("family-a").profile.name == "family-a"


def test_an_unknown_variant_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown database backend 'oracle'; known"):
        Variant(database="oracle")


@pytest.mark.libvirt
def test_the_libvirt_cloud_runs_on_the_real_host(libvirt_cloud: Cloud) -> None:
    hypervisors = libvirt_cloud.openstack_json("hypervisor", "list")
    assert len(hypervisors) == 1 and hypervisors[0]["State"] == "up"
