"""Down host and orphan reaping on the real libvirtd (qemu:///system): a TCG guest's
server is deleted while its agent is away (at once, allocation released, the domain
and its files left), and the agent reaps the domain and its instance directory when
it starts again."""

from __future__ import annotations

import os
import time

import pytest
from tests.e2e.boot.test_boot_libvirt_no_http import (
    Stack,
    boot_kernel_guest,
    stack_fixture,  # noqa: F401 (the "stack" fixture)
)

from virtfleet.db import hosts, servers
from virtfleet.virt.libvirt.host import instances_path

pytestmark = pytest.mark.libvirt


def test_server_deleted_while_host_down_is_reaped_when_agent_returns(stack: Stack) -> None:
    server = boot_kernel_guest(stack)
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
