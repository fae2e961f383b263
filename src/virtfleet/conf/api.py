"""[api]: the HTTP listener."""

from __future__ import annotations

from oslo_config import cfg

from virtfleet.conf.check import OptionValueError

GROUP = "api"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "listen",
        default="127.0.0.1:8774",
        help="HOST:PORT the HTTP listener binds to. It serves /compute/v2.1, /image and "
        "/placement on this one port.",
    ),
    cfg.IntOpt(
        "workers_threads",
        default=32,
        min=1,
        max=1024,
        help="Threads serving HTTP requests concurrently. The pool has exactly this "
        "many threads; requests beyond it wait in a queue.",
    ),
    cfg.IntOpt(
        "listen_backlog",
        default=1024,
        min=128,
        max=65535,
        help="Connections the kernel queues for the listener before accepting them "
        "(the listen() backlog; Linux caps it at net.core.somaxconn). A burst of clients "
        "waits in this queue instead of getting connection resets.",
    ),
    cfg.FloatOpt(
        "header_timeout",
        default=10.0,
        min=0.1,
        max=3600,
        help="Seconds a client has to send a request's head (and a body up to 64 KiB) "
        "once it connects or starts a request on a kept-alive connection. Until then "
        "the request holds no worker thread; after that the connection is closed. "
        "Slow or idle clients therefore cannot occupy the worker pool.",
    ),
    cfg.FloatOpt(
        "client_socket_timeout",
        default=10.0,
        min=0.1,
        max=3600,
        help="Seconds a read of a larger request body (e.g. image data) may wait for "
        "data, and that an idle kept-alive connection stays open.",
    ),
    cfg.FloatOpt(
        "body_timeout",
        default=30.0,
        min=0.1,
        max=86400,
        help="Seconds a request body larger than 64 KiB may take to arrive in total, "
        "once a worker starts reading it (a smaller one arrives with the head, within "
        "header_timeout). Image data uploads get this plus the time the data takes at "
        "body_min_rate. A body still arriving then is refused with 408 and the "
        "connection closed, so a client trickling data cannot hold a worker.",
    ),
    cfg.IntOpt(
        "body_min_rate",
        default=256 * 1024,
        min=1,
        max=2**40,
        help="Bytes per second a long request body (image data) must arrive at on "
        "average, after the body_timeout allowance: its deadline is body_timeout + "
        "bytes received / body_min_rate seconds from the start of the read.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "every request needs a valid Keystone token (keystonemiddleware)"),
            ("noauth", "no authentication at all: for tests only, never on a network"),
        ],
        help="How the APIs authenticate requests. 'keystone' validates the token of every "
        "request (401 without one) against the Keystone of [keystone_authtoken] (`virtfleet "
        "up` embeds one and configures this itself). 'noauth' trusts the caller's "
        "X-Roles / X-Project-Id headers and makes anyone without them an administrator: "
        "it exists for tests that do not test identity, and the server logs a warning "
        "when it starts with it.",
    ),
    cfg.BoolOpt(
        "enable_instance_password",
        default=True,
        help="Whether the answers of a server create, rebuild, evacuate (before "
        "microversion 2.14) and rescue carry the admin password (given, or generated when "
        'not given) as "adminPass", as Nova\'s option of this name does; false: the key is '
        "left out (a rescue or evacuate answers {}). virtfleet does not inject the password "
        "into the guest's disk (as Nova with [libvirt] inject_password false, its default).",
    ),
]


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 as ``[::1]:8774``) -> (host, port); ValueError naming the
    expected form otherwise."""
    host, sep, port = str(value).rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT with a port from 0 to 65535, got {value!r}")
    return (host.strip("[]") or "127.0.0.1", int(port))


def check(conf: cfg.ConfigOpts) -> None:
    """Checks beyond each option's type (OptionValueError)."""
    try:
        listen_address(conf.api.listen)
    except ValueError as exc:
        raise OptionValueError(GROUP, "listen", str(exc)) from None


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
