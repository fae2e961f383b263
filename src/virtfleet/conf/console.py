"""[console] options: the console proxy of the control plane, its tokens, and the
agents' console relays."""

from __future__ import annotations

from oslo_config import cfg

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "enabled",
        default=True,
        help="Run the console proxy beside the APIs and hand out console URLs. When "
        "false, remote-consoles requests answer 400 (unavailable console type).",
    ),
    cfg.HostAddressOpt(
        "proxy_listen",
        default="127.0.0.1",
        help="Address the console proxy (serial websocket, noVNC and its websocket) listens on.",
    ),
    cfg.PortOpt(
        "proxy_port",
        default=0,
        help="Port of the console proxy; 0 picks a free one at start.",
    ),
    cfg.StrOpt(
        "serial_base_url",
        default=None,
        help="Public base of serial console URLs (e.g. ws://console.example.org:6083/); "
        "default ws://<proxy_listen>:<port>/. The token is appended as ?token=.",
    ),
    cfg.StrOpt(
        "novnc_base_url",
        default=None,
        help="Public URL of the noVNC page (e.g. http://console.example.org:6083/"
        "vnc_lite.html); default http://<proxy_listen>:<port>/vnc_lite.html. The "
        "websocket path with the token is appended as ?path=.",
    ),
    cfg.ListOpt(
        "allowed_origins",
        default=[],
        help="Host names, besides the one the browser connected to and those of "
        "serial_base_url and novnc_base_url, that a browser's Origin header may name "
        "when it opens a console websocket (e.g. a dashboard on another host). "
        "Clients that send no Origin (not browsers) are not affected.",
    ),
    cfg.StrOpt(
        "novnc_dir",
        default="/usr/share/novnc",
        help="Directory of the noVNC web client (the Debian novnc package's) served by "
        "the proxy; when it is missing the proxy serves a short page naming the "
        "websocket instead.",
    ),
    cfg.IntOpt(
        "token_ttl",
        default=600,
        min=1,
        max=86400,
        help="Seconds a console token (and the agent's relay it leads to) stays valid. "
        "A token opens one console connection.",
    ),
    cfg.HostAddressOpt(
        "relay_address",
        default="127.0.0.1",
        help="Agent side: the address of this host the console proxy connects to. The "
        "agent opens a one-connection relay there for each console URL handed out.",
    ),
    cfg.HostAddressOpt(
        "vnc_listen",
        default="127.0.0.1",
        help="Agent side: the address QEMU's VNC server listens on (the agent's relay "
        "connects to it; keep it local).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group="console")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("console", OPTS)]
