"""[metadata]: the secret the network-side metadata proxy and the metadata service
share to prove which instance a request comes from."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "metadata"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "shared_secret",
        default="",
        secret=True,
        help="Secret the metadata proxy on each host and the metadata service share: the "
        "proxy signs the instance id of each guest request with HMAC-SHA256 under it "
        "(X-Instance-ID-Signature), and the service refuses requests whose signature "
        "does not match. Set the same value on the control plane and every host; empty "
        "(the default) is refused by both sides, except that `virtfleet up` makes one.",
    ),
    cfg.StrOpt(
        "service_url",
        default=None,
        help="Where the hosts' metadata proxies send guests' requests to 169.254.169.254 "
        "(the metadata service, e.g. http://192.0.2.10:8775). Unset: the agent's host "
        "serves no metadata address.",
    ),
    cfg.StrOpt(
        "listen",
        default=None,
        help="HOST:PORT the control plane's metadata service binds to (what service_url "
        "points at; e.g. 192.0.2.10:8775). It answers only requests signed by a host's "
        "metadata proxy, without Keystone tokens: bind it where only the hosts reach it. "
        "Unset: no metadata service.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
