"""The real ``openstack`` CLI (osc-placement) against the app served over HTTP.

The server is cheroot on 127.0.0.1 with a free port, the app mounted at
``/placement``; the CLI authenticates with ``auth_type none`` and an endpoint. All
commands run in one CLI process (its start-up dominates the time), each printing JSON.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cheroot import wsgi

from virtfleet.api.placement import make_app
from virtfleet.api.wsgi import PrefixDispatcher, json_response
from virtfleet.placement.service import PlacementService

from .conftest import CN1, Topology, allocate

MISSING = "d0000000-0000-4000-8000-00000000000d"

# Runs each argv list through openstackclient's entry point, one JSON line per command.
RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from openstackclient.shell import main
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        print(json.dumps({"argv": argv, "code": code, "out": out.getvalue(),
                          "err": err.getvalue()}))
    """
)


def _not_found(environ: dict[str, Any], start_response: Any) -> Any:
    return json_response({"error": "not found"}, status=404)(environ, start_response)


@pytest.fixture
def endpoint(service: PlacementService) -> Iterator[str]:
    app = PrefixDispatcher({"placement": make_app(service)}, root=_not_found)
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=2)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    host, port = server.bind_addr[:2]
    yield f"http://{host}:{port}/placement"
    server.stop()
    thread.join(timeout=10)


def run_cli(endpoint: str, *commands: list[str]) -> list[dict[str, Any]]:
    common = ["--os-auth-type", "none", "--os-endpoint", endpoint]
    argvs = [common + cmd for cmd in commands]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(argvs)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=pathlib.Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_openstack_cli_against_the_api(
    endpoint: str, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, "a0000000-0000-4000-8000-000000000001", CN1, VCPU=2)
    results = run_cli(
        endpoint,
        ["resource", "provider", "list", "-f", "json"],
        ["resource", "provider", "show", CN1, "-f", "json"],
        [
            "resource",
            "provider",
            "inventory",
            "set",
            CN1,
            "--resource",
            "VCPU=16",
            "--resource",
            "MEMORY_MB=8192",
            "--resource",
            "DISK_GB=100",
            "-f",
            "json",
        ],
        ["resource", "provider", "inventory", "list", CN1, "-f", "json"],
        ["resource", "provider", "usage", "show", CN1, "-f", "json"],
        [
            "--os-placement-api-version",
            "1.17",
            "allocation",
            "candidate",
            "list",
            "--resource",
            "VCPU=1",
            "--required",
            "HW_ARCH_X86_64",
            "-f",
            "json",
        ],
        [
            "resource",
            "provider",
            "trait",
            "list",
            CN1,
            "-f",
            "json",
            "--os-placement-api-version",
            "1.6",
        ],
        ["resource", "class", "list", "-f", "json", "--os-placement-api-version", "1.2"],
        ["trait", "list", "-f", "json", "--os-placement-api-version", "1.6"],
        ["resource", "provider", "show", MISSING],
    )
    *results, missing = results
    for result in results:
        assert result["code"] == 0, result
    assert missing["code"] != 0
    assert MISSING in missing["err"]
    (providers, shown, inv_set, inv_list, usage, candidates, traits, classes, all_traits) = [
        json.loads(r["out"]) for r in results
    ]
    assert [(p["uuid"], p["name"]) for p in providers] == [(CN1, "cn1")]
    assert shown["name"] == "cn1"
    assert {i["resource_class"] for i in inv_set} == {"VCPU", "MEMORY_MB", "DISK_GB"}
    assert {i["resource_class"]: i["total"] for i in inv_list} == {
        "VCPU": 16,
        "MEMORY_MB": 8192,
        "DISK_GB": 100,
    }
    assert {u["resource_class"]: u["usage"] for u in usage}["VCPU"] == 2
    assert len(candidates) == 1
    assert candidates[0]["resource provider"] == CN1
    assert [t["name"] for t in traits] == ["HW_ARCH_X86_64"]
    assert "VCPU" in {c["name"] for c in classes}
    assert "HW_ARCH_X86_64" in {t["name"] for t in all_traits}
