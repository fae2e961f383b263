"""``[network] physical_networks`` parsing: good pairs and a clear error for each
bad form."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.network.physnets import parse_physical_networks


def test_pairs_are_parsed() -> None:
    assert parse_physical_networks(["datacentre:br-ex", " physnet2:eth1 "]) == {
        "datacentre": "br-ex",
        "physnet2": "eth1",
    }


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("datacentre", "is not NAME:BRIDGE_OR_INTERFACE"),
        (":br-ex", "bad name ''"),
        ("a:this-name-is-too-long", "is not a Linux interface name"),
        ("a:br ex", "is not a Linux interface name"),
    ],
)
def test_bad_entries_name_what_is_wrong(entry: str, words: str) -> None:
    with pytest.raises(errors.ConfigError, match=words):
        parse_physical_networks([entry])


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(errors.ConfigError, match="'a' is given twice"):
        parse_physical_networks(["a:eth1", "a:eth2"])


def test_agents_get_recorded_or_plumbed_networking_and_bad_config_stops_them() -> None:
    from virtfleet.agent.network.host import host_network
    from virtfleet.agent.network.linux import LinuxBridgeNetwork
    from virtfleet.agent.network.plugging import RecordingHostNetwork
    from virtfleet.conf import make_conf

    conf = make_conf(network__physical_networks=["ext:br-ex"], network__tunnel_address="192.0.2.1")
    assert isinstance(host_network(conf, simulated=True), RecordingHostNetwork)
    real = host_network(conf, simulated=False)
    assert isinstance(real, LinuxBridgeNetwork) and real.tunnel_address == "192.0.2.1"
    assert isinstance(host_network(make_conf(network__plug=False), False), RecordingHostNetwork)
    with pytest.raises(errors.ConfigError, match="tunnel_address: 'here' is not an IP"):
        host_network(make_conf(network__tunnel_address="here"), simulated=False)
    with pytest.raises(errors.ConfigError, match="is not NAME:BRIDGE_OR_INTERFACE"):
        host_network(make_conf(network__physical_networks=["ext"]), simulated=True)
