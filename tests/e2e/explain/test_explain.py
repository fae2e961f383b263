"""`virtfleet explain` and ``POST /os-scheduler-explain``: a dry run of the scheduler
on a running embedded cloud (an x86_64 KVM host and an aarch64 KVM host)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from click.testing import CliRunner

from support.plugin import StartSimCloud
from virtfleet.cli.apiclient import APIError, Client
from virtfleet.cli.main import cli
from virtfleet.control_plane import EmbeddedCloud

FLEET = """
defaults: {virt_type: kvm, cpus: 8, memory_mb: 16384, disk_gb: 100}
hosts:
  - {name: x86-host, arch: x86_64}
  - {name: arm-host, arch: aarch64}
"""


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> tuple[EmbeddedCloud, Client]:
    view = start_sim_cloud(FLEET, hosts=2)
    client = view.client
    client.create_flavor("small", 2, 2048, 10)
    client.create_flavor("huge", 64, 2048, 10)
    client.create_image("arm-image", b"x" * 512, {"hw_architecture": "aarch64"})
    client.create_image("s390x-image", b"x" * 512, {"hw_architecture": "s390x"})
    return view.embedded, client


def run(endpoint: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["explain", "--endpoint", endpoint, *args])


def usages(client: Client) -> list[Any]:
    return [(h["hypervisor_hostname"], h["vcpus_used"]) for h in client.hypervisors()]


def test_native_host_first_and_nothing_claimed(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, client = cloud
    before = usages(client)
    result = run(embedded.endpoint, "--flavor", "small", "--image", "arm-image")
    assert result.exit_code == 0, result.output
    assert "Hosts: 2 known" in result.output
    best = result.output.split("Best hosts:")[1].splitlines()
    assert best[1].strip().startswith("1. arm-host")  # runs aarch64 natively
    assert usages(client) == before


def test_no_host_names_the_missing_trait(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, _ = cloud
    result = run(embedded.endpoint, "--flavor", "small", "--image", "s390x-image")
    assert result.exit_code == 0, result.output
    assert "0 of 2 hosts offer HW_ARCH_S390X" in result.output
    assert "Best hosts:" not in result.output


def test_capacity_shortage_is_named(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, _ = cloud
    result = run(embedded.endpoint, "--flavor", "huge", "--image", "arm-image")
    assert result.exit_code == 0, result.output
    assert "lack capacity (VCPU)" in result.output


def test_host_option_limits_to_that_host(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, _ = cloud
    on_arm = run(
        embedded.endpoint, "--flavor", "small", "--image", "arm-image", "--host", "arm-host"
    )
    assert on_arm.exit_code == 0, on_arm.output
    assert "1. arm-host" in on_arm.output
    assert "x86-host" not in on_arm.output.split("Best hosts:")[1]
    on_x86 = run(
        embedded.endpoint, "--flavor", "small", "--image", "arm-image", "--host", "x86-host"
    )
    assert on_x86.exit_code == 0, on_x86.output
    assert "Best hosts:" not in on_x86.output
    assert "HW_ARCH_AARCH64" in on_x86.output


def test_unknown_flavor_is_a_clear_cli_error(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, _ = cloud
    result = run(embedded.endpoint, "--flavor", "nope", "--image", "arm-image")
    assert result.exit_code == 1
    assert "no flavor named or with ID 'nope'" in result.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"explain": {"imageRef": "x"}}, "flavorRef"),
        (
            {"explain": {"flavorRef": "missing", "imageRef": "x"}},
            "Flavor missing could not be found",
        ),
        ({"wrong": {}}, "The body must be"),
        ({"explain": {"flavorRef": "1", "imageRef": "x", "zone": "a"}}, "Unknown field(s) zone"),
    ],
)
def test_bad_bodies_are_400(cloud: tuple[EmbeddedCloud, Client], body: Any, message: str) -> None:
    _, client = cloud
    with pytest.raises(APIError) as caught:
        client.compute("POST", "/os-scheduler-explain", body)
    assert caught.value.status == 400
    assert message in caught.value.body


def test_bad_limit_is_400(cloud: tuple[EmbeddedCloud, Client]) -> None:
    _, client = cloud
    flavor = next(f["id"] for f in client.compute("GET", "/flavors")["flavors"])
    image = client.request("GET", "/image/v2/images")["images"][0]["id"]
    with pytest.raises(APIError) as caught:
        client.compute(
            "POST",
            "/os-scheduler-explain",
            {"explain": {"flavorRef": flavor, "imageRef": image, "limit": 0}},
        )
    assert caught.value.status == 400
    assert "limit must be an integer from 1 to 1000" in caught.value.body


def test_members_are_refused(cloud: tuple[EmbeddedCloud, Client]) -> None:
    embedded, _ = cloud
    req = urllib.request.Request(
        embedded.endpoint + "/compute/v2.1/os-scheduler-explain",
        data=json.dumps({"explain": {}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Roles": "member"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=10)
    assert caught.value.code == 403
