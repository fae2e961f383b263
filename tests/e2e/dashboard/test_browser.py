"""The dashboard in a real Chromium on a 1,000-host simulated fleet behind a real
Keystone: log in through the login page (the token kept in an HttpOnly, SameSite=Strict
cookie), the fleet overview loads in under 2 s, the slice host's page shows the slice
a guest took and the slices it blocks, a live migration started from the servers page
shows its progress bar moving and completes; a host disabled and enabled again and a
server deleted from the pages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from support.browser import chromium
from support.ci import time_bound
from support.clouds import admin_session
from support.dashboard_cloud import MOVERS, SLICE_HOST, dashboard_cloud
from support.fleet_cloud import FleetCloud
from support.slice_cloud import SLICE_1
from virtfleet.cli.apiclient import Client

pytestmark = pytest.mark.slow

HOSTS = 1000
LOAD_BUDGET_SECONDS = 2.0


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetCloud]:
    with dashboard_cloud(tmp_path_factory.mktemp("dashboard"), HOSTS, auth="keystone") as c:
        yield c


@pytest.fixture(scope="module")
def api(cloud: FleetCloud) -> Client:
    assert cloud.keystone is not None
    session = admin_session(cloud.keystone)
    return Client(cloud.endpoint, token=lambda: str(session.get_token()))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="module")
def servers(cloud: FleetCloud, api: Client) -> dict[str, dict[str, Any]]:
    """A guest in one 1-GPU slice of the slice host, and one on a mover."""
    image = api.create_image("cirros", b"\0" * 4096, {})
    sliced = api.create_flavor("slice.1", vcpus=1, ram=1, disk=0)
    api.set_extra_specs(
        sliced["id"],
        {
            f"resources:{SLICE_1}": "1",
            "resources:VCPU": "0",
            "resources:MEMORY_MB": "0",
            "resources:DISK_GB": "0",
        },
    )
    small = api.create_flavor("small", vcpus=1, ram=512, disk=1)
    booted = {
        "in-slice": api.wait_server(api.boot("in-slice", sliced["id"], image)),
        "mover": api.wait_server(api.boot("mover", small["id"], image)),
    }
    for server in booted.values():
        assert server["status"] == "ACTIVE", server.get("fault")
    assert booted["in-slice"]["OS-EXT-SRV-ATTR:host"] == SLICE_HOST
    assert booted["mover"]["OS-EXT-SRV-ATTR:host"] in MOVERS
    return booted


@contextlib.contextmanager
def navigation(browser: WebDriver) -> Iterator[None]:
    """Wait, after the block (a form submitted), until the page it left is replaced
    and the new one loaded: a click can return before a slow answer arrives."""
    browser.execute_script("window.virtfleetLeft = true")
    yield
    # A mark on the old window object, not a stale element: asking chromedriver about
    # an element of a page being replaced can fail with an inspector error.
    wait = WebDriverWait(browser, time_bound(10), ignored_exceptions=(WebDriverException,))
    wait.until(
        lambda b: b.execute_script(
            "return window.virtfleetLeft === undefined && document.readyState === 'complete'"
        )
    )


def log_in(browser: WebDriver, password: str) -> None:
    for field, value in (("username", "admin"), ("password", password), ("project", "admin")):
        box = browser.find_element(By.NAME, field)
        box.clear()
        box.send_keys(value)
    with navigation(browser):
        browser.find_element(By.ID, "login").click()


def load_seconds(browser: WebDriver) -> float:
    """The current page's navigation to load event, in seconds (Navigation Timing)."""
    ms = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n.loadEventEnd - n.startTime;"
    )
    return float(ms) / 1000


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    timeout = time_bound(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def test_login_keeps_the_token_in_an_http_only_strict_cookie(
    cloud: FleetCloud, browser: WebDriver, servers: dict[str, dict[str, Any]]
) -> None:
    assert cloud.keystone is not None
    browser.get(f"{cloud.endpoint}/dashboard/hosts/{SLICE_HOST}")
    assert "/dashboard/login?next=" in browser.current_url  # no session yet
    log_in(browser, "not-the-password")
    refused = browser.find_element(By.ID, "login-error").text
    assert refused == "Keystone refused these credentials (username, password or project)."
    assert browser.get_cookie("virtfleet_dashboard") is None
    log_in(browser, cloud.keystone.layout.admin_password())
    assert browser.current_url.endswith(f"/dashboard/hosts/{SLICE_HOST}")  # where it was going
    cookie = browser.get_cookie("virtfleet_dashboard")
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert browser.execute_script("return document.cookie") == ""  # scripts cannot read it


def test_the_overview_of_1000_hosts_loads_in_under_2_seconds(
    cloud: FleetCloud, browser: WebDriver
) -> None:
    started = time.monotonic()
    browser.get(f"{cloud.endpoint}/dashboard/")
    wall = time.monotonic() - started
    loaded = load_seconds(browser)
    print(f"overview of {HOSTS} hosts: load event after {loaded:.3f} s, get() {wall:.3f} s")
    assert browser.find_element(By.ID, "hosts-total").text == str(HOSTS)
    assert loaded < LOAD_BUDGET_SECONDS and wall < LOAD_BUDGET_SECONDS
    arches = browser.find_elements(By.CSS_SELECTOR, "#by-arch tbody tr")
    assert len(arches) >= 2  # the fleet mixes architectures
    classes = browser.find_element(By.ID, "resources").text
    assert "VCPU" in classes and "VGPU" in classes and SLICE_1 in classes


def test_the_slice_host_shows_the_taken_slice_and_the_blocked_ones(
    cloud: FleetCloud, browser: WebDriver, servers: dict[str, dict[str, Any]]
) -> None:
    browser.get(f"{cloud.endpoint}/dashboard/hosts/{SLICE_HOST}")
    states = {
        li.get_attribute("data-slice"): li.get_attribute("data-state")
        for li in browser.find_elements(By.CSS_SELECTOR, "#slice-tree li")
    }
    assert len(states) == 11  # 8 + 4 + 4 + 1 x 8
    used = [name for name, state in states.items() if state == "used"]
    assert used == ["slice-1-0"], states
    assert states["slice-4-0"] == states["slice-8"] == "blocked"  # they overlap slice-1-0
    assert {n for n, s in states.items() if s == "free"} == {
        "slice-4-1",
        *(f"slice-1-{i}" for i in range(1, 8)),
    }
    detail = browser.find_element(By.CSS_SELECTOR, '#slice-tree li[data-slice="slice-8"]').text
    assert "in-slice" in detail


def test_a_live_migration_from_the_page_shows_progress_and_completes(
    cloud: FleetCloud, api: Client, browser: WebDriver, servers: dict[str, dict[str, Any]]
) -> None:
    server = servers["mover"]
    source = server["OS-EXT-SRV-ATTR:host"]
    target = next(h for h in MOVERS if h != source)
    browser.get(f"{cloud.endpoint}/dashboard/servers?name=mover")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-server="{server["id"]}"]')
    row.find_element(By.NAME, "host").send_keys(target)
    with navigation(browser):
        row.find_element(By.CLASS_NAME, "live-migrate").click()
    assert "/dashboard/migrations" in browser.current_url
    assert browser.find_element(By.ID, "notice").text == "Live migration started."

    def progress() -> float | None:
        """The first bar's percentage, read in one script call (the page's poller may
        replace or drop the row at any moment)."""
        found = browser.execute_script(
            "const bar = document.querySelector('#migrations .fill');"
            "return bar ? Number(bar.dataset.pct) : null;"
        )
        return None if found is None else float(found)

    seen = [wait_for(lambda: progress() is not None and progress(), 10, "the bar appears")]
    deadline = time.monotonic() + time_bound(30)
    while time.monotonic() < deadline and progress() is not None:
        if (value := progress()) is not None and value != seen[-1]:
            seen.append(value)
        time.sleep(0.2)
    assert len(seen) >= 3 and seen == sorted(seen), f"the bar did not move forward: {seen}"
    assert progress() is None  # the finished migration left the page
    assert wait_for(
        lambda: browser.find_element(By.ID, "migrations-empty").is_displayed(), 5, "emptied"
    )
    moved = wait_for(
        lambda: (shown := api.server(server["id"]))["OS-EXT-STS:task_state"] is None and shown,
        30,
        "the server's task ended",
    )
    assert moved["OS-EXT-SRV-ATTR:host"] == target
    assert moved["status"] == "ACTIVE"


def test_disable_a_host_and_delete_a_server_from_the_pages(
    cloud: FleetCloud, api: Client, browser: WebDriver, servers: dict[str, dict[str, Any]]
) -> None:
    browser.get(f"{cloud.endpoint}/dashboard/hosts/{SLICE_HOST}")
    browser.find_element(By.NAME, "reason").send_keys("<b>GPU swap</b>")
    with navigation(browser):
        browser.find_element(By.ID, "disable-host").click()
    assert browser.find_element(By.ID, "notice").text == "Host disabled."
    assert browser.find_element(By.ID, "host-state").text == "disabled (<b>GPU swap</b>)"
    services = api.compute("GET", f"/os-services?host={SLICE_HOST}")["services"]
    assert services[0]["status"] == "disabled"
    with navigation(browser):
        browser.find_element(By.ID, "enable-host").click()
    assert browser.find_element(By.ID, "host-state").text == "up"

    doomed = servers["in-slice"]["id"]
    browser.get(f"{cloud.endpoint}/dashboard/servers?name=in-slice")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-server="{doomed}"]')
    with navigation(browser):
        row.find_element(By.CLASS_NAME, "delete").click()
        browser.switch_to.alert.accept()  # "Delete this server?"
    assert browser.find_element(By.ID, "notice").text == "Delete requested."

    def slices_free() -> bool:
        browser.get(f"{cloud.endpoint}/dashboard/hosts/{SLICE_HOST}")
        items = browser.find_elements(By.CSS_SELECTOR, "#slice-tree li")
        return bool(items) and all(li.get_attribute("data-state") == "free" for li in items)

    assert wait_for(slices_free, 30, "the deleted guest's slice is free again")
