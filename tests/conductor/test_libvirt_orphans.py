"""Down host and orphan reaping on the real libvirtd (qemu:///system): a TCG guest's
server is deleted while its agent is away (at once, allocation released, the domain
and its files left), and the agent reaps the domain and its instance directory when
it starts again."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Iterator

import pytest
from test_libvirt_e2e import INITRD, KERNEL, Stack

from support.ci import unavailable
from virtfleet.db import hosts, servers
from virtfleet.db.engine import Database
from virtfleet.virt.libvirt.host import instances_path

pytestmark = pytest.mark.libvirt


@pytest.fixture
def stack(tmp_path: pathlib.Path, db: Database) -> Iterator[Stack]:
    built = Stack(tmp_path, db)
    yield built
    for server in servers.list_servers(db, read_deleted=True):
        built.driver.destroy(server.uuid)  # idempotent; only this test's guests
    built.close()


def test_server_deleted_while_host_down_is_reaped_when_agent_returns(stack: Stack) -> None:
    if not KERNEL.is_file():
        unavailable(f"no guest kernel at {KERNEL} (scripts/guest-images.sh)")
    image_id = stack.image(KERNEL.read_bytes(), INITRD.read_bytes() if INITRD.is_file() else None)
    server = stack.boot(image_id)
    assert (server.vm_state, server.host) == ("active", "local"), server.fault
    uuid = server.uuid
    directory = os.path.join(instances_path(stack.agent.conf), uuid)
    assert os.path.isdir(directory)

    stack.agent.stop()
    assert hosts.mark_down(stack.db, host="local") == ["local"]  # as the watchdog would
    started = time.monotonic()
    deleted = stack.run("delete_server", uuid)
    assert time.monotonic() - started < 2.0
    assert deleted.vm_state == "deleted"
    assert stack.placement.get_consumer_allocations(uuid).allocations == {}
    assert not stack.gone(uuid) and os.path.isdir(directory)  # nobody told the host

    stack.agent.start()  # reports, then reaps what should not be here

    assert stack.gone(uuid)
    assert not os.path.exists(directory)
    assert servers.get(stack.db, uuid, read_deleted=True).deleted_at is not None
