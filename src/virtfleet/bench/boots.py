"""End to end: ``POST /servers`` until ACTIVE, then ``DELETE`` until gone, over HTTP
against a running cloud (:mod:`virtfleet.bench.clouds`).

``boots`` requests go out from ``concurrency`` client threads, spread round-robin over
the cloud's servers (as a load balancer would). One poller lists
``/servers/detail`` every ``POLL`` seconds and notes when each server first shows
ACTIVE (or ERROR): a boot's latency is that moment minus the moment its POST was
sent (so it is known to within ``POLL``), and the rate is the servers that became
ACTIVE over the time from the first POST to the last of them. The deletes are
measured the same way, until the server is no longer listed.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from virtfleet.bench.stats import ms, percentile
from virtfleet.cli.apiclient import APIError, Client

POLL = 0.2  # seconds between listings of the servers


@dataclass(frozen=True)
class Phase:
    """One burst: how many requests, how they ended, rate and latency."""

    requests: int
    accepted: int
    rejected: dict[str, int]  # what the HTTP answer was, for requests that failed
    done: int  # ACTIVE (boots) or gone (deletes)
    failed: int  # ERROR (boots) or still there at the end (deletes)
    seconds: float
    per_second: float
    p50_ms: float | None
    p99_ms: float | None
    cpu_seconds: float | None = None  # CPU time of the cloud's processes in the burst

    @property
    def cpu_ms_per_request(self) -> float | None:
        """The cloud's CPU time per request that ended: what the machine's other load
        disturbs least (a loaded machine stretches the wall time, not this)."""
        if self.cpu_seconds is None or not self.done:
            return None
        return round(self.cpu_seconds * 1000 / self.done, 1)


@dataclass(frozen=True)
class Result:
    setup: str
    servers: int  # 0: the embedded process
    hosts: int
    concurrency: int
    boots: Phase
    deletes: Phase
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for name in ("boots", "deletes"):
            found[name]["cpu_ms_per_request"] = getattr(self, name).cpu_ms_per_request
        return found


@dataclass
class _Burst:
    """Send times and end times of one burst's requests."""

    sent: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    rejected: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reject(self, what: str) -> None:
        with self.lock:
            self.rejected[what] = self.rejected.get(what, 0) + 1


def _problem(exc: Exception) -> str:
    if isinstance(exc, APIError):
        return f"HTTP {exc.status}"
    return type(exc).__name__


def run(
    endpoints: Sequence[str],
    boots: int,
    concurrency: int,
    timeout: float,
    setup: str = "",
    servers: int = 0,
    hosts: int = 0,
    cpu: Callable[[], float] | None = None,
) -> Result:
    """Boot ``boots`` servers and delete them again; at most ``timeout`` seconds each.
    ``cpu`` gives the CPU seconds the cloud's processes used so far."""
    clients = [Client(e, timeout=60) for e in endpoints]
    admin = clients[0]
    flavor = admin.create_flavor(f"bench-{time.time_ns()}", 1, 128, 1)["id"]
    image = admin.create_image("bench", b"\0" * 65536, {"hw_architecture": "x86_64"})
    load_before = os.getloadavg()

    booted = _Burst()

    def boot(i: int) -> None:
        started = time.monotonic()
        try:
            server_id = clients[i % len(clients)].boot(f"bench-{i}", flavor, image)
        except (OSError, APIError) as exc:
            booted.reject(_problem(exc))
            return
        with booted.lock:
            booted.sent[server_id] = started

    def boot_state(server: dict[str, Any]) -> str | None:
        status = server.get("status")
        return None if status == "BUILD" else ("ok" if status == "ACTIVE" else "failed")

    boot_phase = _burst(
        admin, booted, range(boots), boot, concurrency, timeout, boot_state, cpu=cpu
    )

    deleted = _Burst()
    targets = sorted(booted.sent)

    def delete(i: int) -> None:
        server_id = targets[i]
        started = time.monotonic()
        try:
            clients[i % len(clients)].compute("DELETE", f"/servers/{server_id}")
        except (OSError, APIError) as exc:
            deleted.reject(_problem(exc))
            return
        with deleted.lock:
            deleted.sent[server_id] = started

    def delete_state(server: dict[str, Any]) -> str | None:
        return "failed" if server.get("status") == "ERROR" else None

    delete_phase = _burst(
        admin, deleted, range(len(targets)), delete, concurrency, timeout, delete_state,
        gone_is_done=True, cpu=cpu,
    )  # fmt: skip
    return Result(
        setup, servers, hosts, concurrency, boot_phase, delete_phase,
        load_before, os.getloadavg(),
    )  # fmt: skip


def _burst(
    admin: Client,
    burst: _Burst,
    items: range,
    send: Callable[[int], None],
    concurrency: int,
    timeout: float,
    state: Callable[[dict[str, Any]], str | None],
    gone_is_done: bool = False,
    cpu: Callable[[], float] | None = None,
) -> Phase:
    """Send every request from ``concurrency`` threads while one poller notes when each
    accepted one ended (``state`` of its listing: "ok", "failed" or None for not
    yet; with ``gone_is_done`` a server no longer listed is done)."""
    cpu_before = cpu() if cpu is not None else None
    first = time.monotonic()
    deadline = first + timeout
    sending = threading.Event()
    sending.set()

    def poll() -> None:
        while time.monotonic() < deadline:
            try:
                listed = admin.compute("GET", "/servers/detail")["servers"]
            except (OSError, APIError):
                time.sleep(POLL)
                continue
            now = time.monotonic()
            seen = {s["id"]: s for s in listed}
            with burst.lock:
                for server_id in burst.sent:
                    if server_id in burst.ended:
                        continue
                    server = seen.get(server_id)
                    ended = "ok" if server is None and gone_is_done else None
                    if server is not None:
                        ended = state(server)
                    if ended is not None:
                        burst.ended[server_id] = now
                        if ended == "failed":
                            burst.failed.add(server_id)
                finished = len(burst.ended) == len(burst.sent)
            if finished and not sending.is_set():
                return
            time.sleep(POLL)

    poller = threading.Thread(target=poll, name="bench-poller", daemon=True)
    poller.start()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, items))
    sending.clear()
    poller.join(max(0.0, deadline - time.monotonic()) + POLL * 2)
    used = None if cpu is None or cpu_before is None else round(cpu() - cpu_before, 1)
    done = {i: t for i, t in burst.ended.items() if i not in burst.failed}
    latencies = [done[i] - burst.sent[i] for i in done]
    seconds = (max(done.values()) - first) if done else time.monotonic() - first
    return Phase(
        requests=len(items),
        accepted=len(burst.sent),
        rejected=dict(burst.rejected),
        done=len(done),
        failed=len(burst.sent) - len(done),
        seconds=round(seconds, 2),
        per_second=round(len(done) / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=ms(percentile(latencies, 50)) if latencies else None,
        p99_ms=ms(percentile(latencies, 99)) if latencies else None,
        cpu_seconds=used,
    )


def table(results: Sequence[Result]) -> str:
    """The results as a Markdown table, one row per setup and burst."""
    head = (
        "| setup | hosts | concurrency | burst | ok / sent | rejected | failed | seconds "
        "| per second | p50 ms | p99 ms | cloud CPU ms each | load before → after |\n"
        "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- |\n"
    )
    rows = []
    for r in results:
        load = f"{r.load_before[0]:.1f} → {r.load_after[0]:.1f} ({r.cpus} CPUs)"
        for name, phase in (("boot → ACTIVE", r.boots), ("delete → gone", r.deletes)):
            rejected = ", ".join(f"{k}: {v}" for k, v in phase.rejected.items()) or "0"
            rows.append(
                f"| {r.setup} | {r.hosts} | {r.concurrency} | {name} | "
                f"{phase.done} / {phase.requests} | {rejected} | {phase.failed} | "
                f"{phase.seconds} | {phase.per_second} | {phase.p50_ms} | {phase.p99_ms} | "
                f"{phase.cpu_ms_per_request} | {load} |"
            )
    return head + "\n".join(rows) + "\n"


def against_targets(results: Sequence[Result]) -> list[str]:
    """The issue's targets and what was reached."""
    lines = []
    by_servers = {r.servers: r for r in results}
    embedded = next((r for r in results if r.setup.startswith("embedded")), None)
    if embedded is not None:
        lines.append(f"embedded: {embedded.boots.per_second} boots/s to ACTIVE (target >= 300)")
    one, three = by_servers.get(1), by_servers.get(3)
    if one is not None and three is not None and one.boots.per_second:
        ratio = three.boots.per_second / one.boots.per_second
        lines.append(
            f"3 servers: {three.boots.per_second} boots/s = {ratio:.2f}x one server's "
            f"{one.boots.per_second} (target >= 2.5x)"
        )
    for r in results:
        lines.append(
            f"{r.setup}: deletes {r.deletes.per_second}/s vs boots {r.boots.per_second}/s, "
            f"{sum(r.deletes.rejected.values()) + r.deletes.failed} failed deletes "
            "(target: as fast as boots, none failed)"
        )
    return lines
