"""`virtfleet bench boots` measures a real cloud: every boot it sends is counted ACTIVE
with a latency, every delete gone, and the rates and percentiles come from those; a
setup that cannot be named is refused with the accepted forms."""

from __future__ import annotations

from click.testing import CliRunner

from support.plugin import StartSimCloud
from virtfleet.bench import boots
from virtfleet.cli.main import cli

FLEET = """
hosts:
  - name: node
    count: 3
    arch: x86_64
    cpus: 64
    memory_mb: 262144
    disk_gb: 4000
"""


def test_boots_and_deletes_of_an_embedded_cloud_are_counted_and_timed(
    start_sim_cloud: StartSimCloud,
) -> None:
    cloud = start_sim_cloud(FLEET)
    result = boots.run([cloud.endpoint], 12, 4, 120, "embedded (SQLite)", 0, 3)
    for phase in (result.boots, result.deletes):
        assert (phase.requests, phase.accepted, phase.done, phase.failed) == (12, 12, 12, 0)
        assert phase.rejected == {}
        assert phase.p50_ms is not None and phase.p99_ms is not None
        assert 0 < phase.p50_ms <= phase.p99_ms <= phase.seconds * 1000 + boots.POLL * 1000
        assert abs(phase.per_second - 12 / phase.seconds) <= 0.1 + 12 / phase.seconds * 0.01
    assert cloud.client.compute("GET", "/servers")["servers"] == []
    table = boots.table([result])
    assert "| embedded (SQLite) | 3 | 4 | boot → ACTIVE | 12 / 12 | 0 | 0 |" in table
    assert boots.against_targets([result])[0].startswith("embedded: ")


def test_an_unknown_setup_is_refused_naming_the_forms() -> None:
    run = CliRunner().invoke(cli, ["bench", "boots", "--setups", "embedded,many"])
    assert run.exit_code == 2
    assert "'many' is not a setup: use 'embedded' or a number of servers from 1 to 8" in (
        run.output
    )
