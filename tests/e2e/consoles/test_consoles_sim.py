"""Remote consoles on a simulated cloud, end to end over HTTP: console URLs from the
Compute API (2.6+ remote-consoles, the 2.1-2.5 actions, the real openstack CLI), the
proxy's websocket to the guest's serial console and VNC server (RFB), and tokens that
are refused when forged, reused or expired."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

import pytest
import sqlalchemy as sa
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support.clouds import EmbeddedView
from support.plugin import StartSimCloud
from virtfleet.cli.apiclient import APIError
from virtfleet.servers import console_tokens

FLEET = """
defaults: {virt_type: kvm, cpus: 4, memory_mb: 8192, disk_gb: 50}
hosts:
  - {name: sim-1, arch: x86_64}
"""
OPENSTACK = pathlib.Path(sys.executable).parent / "openstack"
DASHBOARD_HOST = "dashboard.example.org"  # [console] allowed_origins


class Cloud:
    def __init__(self, view: EmbeddedView, server: str, headless: str) -> None:
        self.view, self.server, self.headless = view, server, headless
        self.client = view.client

    def call(self, method: str, path: str, body: Any = None, version: str = "2.96") -> Any:
        headers = {"OpenStack-API-Version": f"compute {version}"}
        return self.client.request(method, "/compute/v2.1" + path, body, headers)

    def remote(self, protocol: str, kind: str, server: str | None = None) -> str:
        body = {"remote_console": {"protocol": protocol, "type": kind}}
        reply = self.call("POST", f"/servers/{server or self.server}/remote-consoles", body)
        assert reply["remote_console"]["protocol"] == protocol
        url: str = reply["remote_console"]["url"]
        return url


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> Cloud:
    view = start_sim_cloud(FLEET, hosts=1, console__allowed_origins=[DASHBOARD_HOST])
    client = view.client
    flavor = client.create_flavor("small", 1, 512, 1)["id"]
    graphical = client.create_image(
        "graphical", b"x" * 512, {"hw_video_model": "virtio", "hw_qemu_guest_agent": "yes"}
    )
    headless = client.create_image("headless", b"x" * 512, {})
    servers = [client.boot(name, flavor, image) for name, image in
               (("vm-1", graphical), ("vm-2", headless))]  # fmt: skip
    for server in servers:
        assert client.wait_server(server)["status"] == "ACTIVE"
    return Cloud(view, servers[0], servers[1])


def token_of(url: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "path" in query:  # the noVNC page: ?path=%3Ftoken%3D...
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(query["path"][0]).query)
    return query["token"][0]


def websocket_url(novnc_url: str) -> str:
    """Where noVNC's page connects: ws://<same host:port>/<path>."""
    parts = urllib.parse.urlsplit(novnc_url)
    path = urllib.parse.parse_qs(parts.query)["path"][0]
    return f"ws://{parts.netloc}/{path}"


def test_serial_console_websocket_shows_the_login_prompt(cloud: Cloud) -> None:
    url = cloud.remote("serial", "serial")
    assert url.startswith("ws://127.0.0.1:") and "?token=" in url
    with connect(url, open_timeout=10) as ws:
        seen = b""
        while b"login: " not in seen:
            seen += bytes(ws.recv(timeout=10))  # type: ignore[arg-type]  # binary
        ws.send(b"root\r")
        echoed = bytes(ws.recv(timeout=10))  # type: ignore[arg-type]  # binary
        assert b"root" in echoed


def test_novnc_page_answers_and_its_websocket_carries_rfb(cloud: Cloud) -> None:
    url = cloud.remote("vnc", "novnc")
    with urllib.request.urlopen(url, timeout=10) as page:  # our proxy
        assert page.status == 200
        assert "text/html" in page.headers["Content-Type"]
    with connect(websocket_url(url), subprotocols=["binary"], open_timeout=10) as ws:
        assert bytes(ws.recv(timeout=10)) == b"RFB 003.008\n"  # type: ignore[arg-type]


def test_a_used_token_is_refused(cloud: Cloud) -> None:
    url = cloud.remote("serial", "serial")
    with connect(url, open_timeout=10):
        pass
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10)
    assert refused.value.response.status_code == 403
    assert b"already used" in refused.value.response.body


def test_a_forged_token_is_refused(cloud: Cloud) -> None:
    url = cloud.remote("serial", "serial")
    forged = url.replace(token_of(url), "A" * len(token_of(url)))
    with pytest.raises(InvalidStatus) as refused:
        connect(forged, open_timeout=10)
    assert refused.value.response.status_code == 403
    assert b"unknown console token" in refused.value.response.body
    no_token = url.split("?")[0]
    with pytest.raises(InvalidStatus) as missing:
        connect(no_token, open_timeout=10)
    assert missing.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example.net", "https://127.0.0.1.evil.example.net:443", "null", "file://"],
)
def test_a_browser_page_of_another_site_is_refused_and_the_token_kept(
    cloud: Cloud, origin: str
) -> None:
    url = cloud.remote("serial", "serial")
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10, origin=origin)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert b"Origin" in refused.value.response.body
    with connect(url, open_timeout=10):  # not consumed by the refused attempt
        pass


@pytest.mark.parametrize("origin", ["http://127.0.0.1:1", f"https://{DASHBOARD_HOST}"])
def test_pages_of_the_proxy_host_or_an_allowed_origin_open_consoles(
    cloud: Cloud, origin: str
) -> None:
    url = cloud.remote("vnc", "novnc")
    ws_url = websocket_url(url)
    with connect(ws_url, subprotocols=["binary"], open_timeout=10, origin=origin) as ws:  # type: ignore[arg-type, list-item]
        assert bytes(ws.recv(timeout=10)) == b"RFB 003.008\n"  # type: ignore[arg-type]


def test_an_expired_token_is_refused(cloud: Cloud) -> None:
    url = cloud.remote("serial", "serial")
    table = console_tokens.TABLE
    past = datetime.datetime(2000, 1, 1)
    with cloud.view.control.db.write() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.token_hash == console_tokens.token_hash(token_of(url)))
            .values(expires_at=past)
        )
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10)
    assert b"expired" in refused.value.response.body


def test_admin_reads_a_live_token_from_2_31(cloud: Cloud) -> None:
    token = token_of(cloud.remote("serial", "serial"))
    shown = cloud.call("GET", f"/os-console-auth-tokens/{token}")["console"]
    assert shown["instance_uuid"] == cloud.server
    assert shown["host"] == "127.0.0.1" and shown["port"] > 0
    with pytest.raises(APIError) as old:
        cloud.call("GET", f"/os-console-auth-tokens/{token}", version="2.30")
    assert old.value.status == 400 and "not accessible" in old.value.body
    with pytest.raises(APIError) as missing:
        cloud.call("GET", "/os-console-auth-tokens/not-a-token")
    assert missing.value.status == 404


def test_old_actions_before_2_6_and_not_after(cloud: Cloud) -> None:
    action = f"/servers/{cloud.server}/action"
    reply = cloud.call("POST", action, {"os-getSerialConsole": {"type": "serial"}}, "2.5")
    assert reply["console"]["type"] == "serial"
    assert reply["console"]["url"].startswith("ws://")
    reply = cloud.call("POST", action, {"os-getVNCConsole": {"type": "novnc"}}, "2.1")
    assert "vnc_lite.html?path=" in reply["console"]["url"]
    with pytest.raises(APIError) as gone:
        cloud.call(
            "POST", f"/servers/{cloud.server}/action", {"os-getVNCConsole": {"type": "novnc"}}
        )
    assert gone.value.status == 404 and "remote-consoles" in gone.value.body
    with pytest.raises(APIError) as early:
        cloud.call(
            "POST",
            f"/servers/{cloud.server}/remote-consoles",
            {"remote_console": {"protocol": "serial", "type": "serial"}},
            "2.5",
        )
    assert early.value.status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"remote_console": {"protocol": "spice", "type": "spice-html5"}}, "Unavailable console"),
        (
            {"remote_console": {"protocol": "vnc", "type": "serial"}},
            "Unavailable console type serial",
        ),
        ({"remote_console": {"protocol": "telnet", "type": "serial"}}, "protocol. Value: 'telnet'"),
        ({"remote_console": {"protocol": "vnc"}}, "'type' is a required property"),
        ({"remote_console": {"protocol": "vnc", "type": "novnc", "x": 1}}, "'x' unexpected"),
        ({"console": {}}, "'remote_console' object"),
        ({"remote_console": {"protocol": "mks", "type": "webmks"}}, "Unavailable console"),
    ],
)
def test_bad_console_requests_are_400s(cloud: Cloud, body: Any, message: str) -> None:
    with pytest.raises(APIError) as refused:
        cloud.call("POST", f"/servers/{cloud.server}/remote-consoles", body)
    assert refused.value.status == 400
    assert message in json.loads(refused.value.body)["badRequest"]["message"]


def test_a_headless_guest_has_no_vnc_console(cloud: Cloud) -> None:
    with pytest.raises(APIError) as refused:
        cloud.remote("vnc", "novnc", server=cloud.headless)
    assert refused.value.status == 400 and "no vnc console" in refused.value.body
    assert cloud.remote("serial", "serial", server=cloud.headless).startswith("ws://")


def test_a_stopped_guest_has_no_console(cloud: Cloud) -> None:
    client = cloud.client
    cloud.call("POST", f"/servers/{cloud.headless}/action", {"os-stop": None})
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    while client.server(cloud.headless)["status"] != "SHUTOFF":
        assert datetime.datetime.now() < deadline
    with pytest.raises(APIError) as refused:
        cloud.remote("serial", "serial", server=cloud.headless)
    assert refused.value.status == 409 and "must be ACTIVE" in refused.value.body
    cloud.call("POST", f"/servers/{cloud.headless}/action", {"os-start": None})


def test_openstack_console_url_show(cloud: Cloud) -> None:
    clouds_yaml = pathlib.Path(cloud.view.embedded.conf.data_dir).parent / "clouds.yaml"
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds_yaml), "OS_CLOUD": "virtfleet"}

    def show(*flags: str) -> dict[str, str]:
        result = subprocess.run(
            [str(OPENSTACK), "console", "url", "show", *flags, cloud.server, "-f", "json"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        shown: dict[str, str] = json.loads(result.stdout)
        return shown

    serial = show("--serial")
    assert serial["type"] == "serial" and serial["url"].startswith("ws://")
    with connect(serial["url"], open_timeout=10) as ws:
        assert b"login" in bytes(ws.recv(timeout=10))  # type: ignore[arg-type]
    novnc = show("--novnc")
    assert novnc["type"] == "novnc" and "vnc_lite.html" in novnc["url"]


def test_root_password_through_the_guest_agent(cloud: Cloud) -> None:
    action = f"/servers/{cloud.server}/action"
    assert cloud.call("POST", action, {"changePassword": {"adminPass": "n3w-Secret"}}) is None
    record = cloud.view.hypervisor("sim-1").record(cloud.server)
    assert record.passwords == {"root": "n3w-Secret"}


def test_root_password_without_a_guest_agent_is_a_409(cloud: Cloud) -> None:
    with pytest.raises(APIError) as refused:
        cloud.call(
            "POST", f"/servers/{cloud.headless}/action", {"changePassword": {"adminPass": "x"}}
        )
    assert refused.value.status == 409
    assert "hw_qemu_guest_agent=yes" in refused.value.body
    assert '"x"' not in refused.value.body  # the password is not echoed


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({}, "adminPass is a required property"),
        ({"adminPass": 5}, "adminPass must be a string"),
        ({"adminPass": "a", "extra": 1}, "'extra' unexpected"),
        ({"adminPass": "a" * 256}, "longer than 255"),
    ],
)
def test_bad_change_password_bodies_are_400s(cloud: Cloud, argument: Any, message: str) -> None:
    with pytest.raises(APIError) as refused:
        cloud.call("POST", f"/servers/{cloud.server}/action", {"changePassword": argument})
    assert refused.value.status == 400 and message in refused.value.body
