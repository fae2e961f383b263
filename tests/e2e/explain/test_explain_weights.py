"""`virtfleet explain` shows why the best host won: each weigher's share of its weight,
and how a boot breaks a tie (two identical simulated hosts, then one in use)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from support.plugin import StartSimCloud
from virtfleet.cli.apiclient import Client
from virtfleet.cli.main import cli

TWINS = """
defaults: {virt_type: kvm, arch: x86_64, cpus: 8, memory_mb: 16384, disk_gb: 100}
hosts:
  - {name: twin-1}
  - {name: twin-2}
"""


def explain(endpoint: str) -> list[list[str]]:
    result = CliRunner().invoke(
        cli, ["explain", "--endpoint", endpoint, "--flavor", "small", "--image", "x86"]
    )
    assert result.exit_code == 0, result.output
    return [line.split() for line in result.output.split("Best hosts:")[1].splitlines()]


def test_a_tie_is_explained_then_the_free_host_wins_on_ram_and_vcpu(
    start_sim_cloud: StartSimCloud,
) -> None:
    view = start_sim_cloud(TWINS, hosts=2)
    client: Client = view.client
    flavor = client.create_flavor("small", 2, 4096, 10)["id"]
    image = client.create_image("x86", b"x" * 512, {"hw_architecture": "x86_64"})

    tied = explain(view.embedded.endpoint)
    assert ["1.", "twin-1", "(weight", "0.0)"] in tied  # ties go by name
    assert ["2.", "twin-2", "(weight", "0.0)"] in tied
    assert ["ram", "+0.0000", "(score", "15872)"] in tied  # 512 MB reserved
    assert " ".join(tied[-1]).startswith("Note: 2+ hosts tie for the best weight")

    server = client.wait_server(client.boot("vm", flavor, image))
    assert server["status"] == "ACTIVE", server.get("fault")
    busy = server["OS-EXT-SRV-ATTR:host"]
    free = "twin-2" if busy == "twin-1" else "twin-1"

    ranked = explain(view.embedded.endpoint)
    assert ranked[1][:4] == ["1.", free, "(weight", "2.0)"]  # ram 1 + vcpu 1
    assert ["ram", "+1.0000", "(score", "15872)"] in ranked
    assert ["ram", "+0.0000", "(score", "11776)"] in ranked
    assert ["vcpu", "+1.0000", "(score", "32)"] in ranked  # 8 cpus, ratio 4.0
    assert ["vcpu", "+0.0000", "(score", "30)"] in ranked
    assert not any(row and row[0] == "Note:" for row in ranked)


@pytest.mark.parametrize("fleet", [TWINS.replace("  - {name: twin-2}\n", "")])
def test_a_lone_host_says_why_its_weight_is_zero(
    start_sim_cloud: StartSimCloud, fleet: str
) -> None:
    view = start_sim_cloud(fleet, hosts=1)
    view.client.create_flavor("small", 2, 4096, 10)
    view.client.create_image("x86", b"x" * 512, {"hw_architecture": "x86_64"})
    rows = explain(view.embedded.endpoint)
    assert " ".join(rows[-1]).startswith("Note: one host fits")
