"""The nft text of security-group rules: protocols, port ranges, ICMP type and code,
remote prefixes per family, rules that can match nothing left out."""

from __future__ import annotations

from virtfleet.agent.network.firewall import FilteredPort, link_local, rule_lines, ruleset
from virtfleet.objects.vif import GuestRule, GuestVif


def rule(**fields: object) -> GuestRule:
    return GuestRule(**{"direction": "ingress", "ethertype": "IPv4", **fields})


def test_port_ranges_icmp_and_remote_prefixes() -> None:
    tcp = rule(protocol="tcp", port_range_min=8000, port_range_max=8080, remote_any=False,
               remote_prefixes=["198.51.100.0/24", "2001:db8::/64"])  # fmt: skip
    assert rule_lines(tcp, "accept") == [
        "meta nfproto ipv4 tcp dport 8000-8080 ip saddr { 198.51.100.0/24 } accept"
    ]
    udp = rule(direction="egress", protocol="17", port_range_min=53, port_range_max=53)
    assert rule_lines(udp, "return") == ["meta nfproto ipv4 udp dport 53 return"]
    echo = rule(protocol="icmp", port_range_min=8, port_range_max=0)
    assert rule_lines(echo, "accept") == ["meta l4proto icmp icmp type 8 icmp code 0 accept"]
    v6 = rule(ethertype="IPv6", protocol="icmp")
    assert rule_lines(v6, "accept") == ["meta l4proto ipv6-icmp accept"]
    assert rule_lines(rule(protocol="47"), "accept") == ["meta nfproto ipv4 meta l4proto 47 accept"]


def test_rules_that_match_nothing_are_left_out() -> None:
    empty_group = rule(remote_any=False, remote_prefixes=[])
    assert rule_lines(empty_group, "accept") == []
    v6_only = rule(remote_any=False, remote_prefixes=["2001:db8::5/128"])
    assert rule_lines(v6_only, "accept") == []
    assert rule_lines(rule(ethertype="IPv6", protocol="1"), "accept") == []


def test_ports_without_port_security_are_not_filtered_and_none_deletes_the_tables() -> None:
    vif = GuestVif(port_id="p", network_id="n", mac_address="fa:16:3e:00:00:01",
                   network_type="vxlan", port_security=False)  # fmt: skip
    text = ruleset([FilteredPort("tapp", vif)])
    assert "delete table bridge virtfleet" in text and "chain" not in text
    assert link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"
