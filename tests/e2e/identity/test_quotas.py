"""Quotas as Keystone unified limits, against the session's real Keystone: limits made
in Keystone (registered limits and project limits, as `openstack registered limit
create` / `openstack limit create` make them) hold for concurrent boots, name the
resource, usage and limit, come back after deletes, and are reported by
os-quota-sets and /limits; image count and image data limits hold too, and key pairs
are limited per user by the registered ``server_key_pairs`` limit (as Nova)."""

from __future__ import annotations

import concurrent.futures
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.identity_cloud import RECIPE, IdentityCloud, add_members
from support.openstack_cli import CLI
from support.plugin import StartSimCloud
from virtfleet.cli import clouds
from virtfleet.identity.layout import ADMIN_PROJECT, ADMIN_USER

PROJECT, USER = "project-q", "member-q"
OTHER_PROJECT, OTHER_USER = "project-r", "member-r"
IMAGE_BODY = {"disk_format": "raw", "container_format": "bare"}
COMPUTE = "/compute/v2.1"
#: [quota] limits_cache_seconds of the cloud: a limit made in Keystone counts after it.
CACHE_SECONDS = 0.5


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> IdentityCloud:
    recipe = RECIPE.but(
        conf={
            "quota__limits_cache_seconds": CACHE_SECONDS,
            "compute__allow_resize_to_same_host": True,  # one host: resizes stay on it
        }
    )
    running = start_sim_cloud(recipe, view=IdentityCloud)
    add_members(running, ((PROJECT, USER), (OTHER_PROJECT, OTHER_USER)))
    return running


class Limits:
    """Keystone's limits API as the admin (what the openstack CLI calls)."""

    def __init__(self, cloud: IdentityCloud) -> None:
        self.session = cloud.sessions["admin"]
        assert cloud.keystone is not None
        self.base = cloud.keystone.auth_url
        self.made: list[str] = []
        self.registered: list[str] = []

    def _get(self, path: str) -> Any:
        return self.session.get(self.base + path).json()

    def service_id(self, service_type: str) -> str:
        return str(self._get(f"/services?type={service_type}")["services"][0]["id"])

    def project_id(self, name: str) -> str:
        return str(self._get(f"/projects?name={name}")["projects"][0]["id"])

    def set(self, service_type: str, project: str, resource: str, value: int) -> None:
        """``openstack limit create --service S --project P --resource-limit N R``."""
        body = {
            "limits": [
                {
                    "service_id": self.service_id(service_type),
                    "region_id": "RegionOne",
                    "project_id": self.project_id(project),
                    "resource_name": resource,
                    "resource_limit": value,
                }
            ]
        }
        made = self.session.post(self.base + "/limits", json=body).json()["limits"][0]
        self.made.append(made["id"])
        time.sleep(CACHE_SECONDS + 0.1)  # the cloud reads the limits again by then

    def register(self, service_type: str, resource: str, default: int) -> None:
        """``openstack registered limit create --service S --default-limit N R``."""
        body = {
            "registered_limits": [
                {
                    "service_id": self.service_id(service_type),
                    "region_id": "RegionOne",
                    "resource_name": resource,
                    "default_limit": default,
                }
            ]
        }
        reply = self.session.post(self.base + "/registered_limits", json=body).json()
        self.registered.append(reply["registered_limits"][0]["id"])
        time.sleep(CACHE_SECONDS + 0.1)

    def clear(self) -> None:
        for limit_id in self.made:
            self.session.delete(f"{self.base}/limits/{limit_id}")
        for limit_id in self.registered:
            self.session.delete(f"{self.base}/registered_limits/{limit_id}")
        self.made.clear()
        self.registered.clear()
        time.sleep(CACHE_SECONDS + 0.1)


@pytest.fixture
def limits(cloud: IdentityCloud) -> Iterator[Limits]:
    made = Limits(cloud)
    yield made
    made.clear()


@pytest.fixture(scope="module")
def flavors(cloud: IdentityCloud) -> dict[str, str]:
    ids = {}
    for name, vcpus in (("q.one", 1), ("q.two", 2)):
        body = {"flavor": {"name": name, "vcpus": vcpus, "ram": 64, "disk": 1}}
        made = cloud.call("POST", f"{COMPUTE}/flavors", "admin", body)
        assert made.status == 200, made.body
        ids[name] = made.body["flavor"]["id"]
    return ids


@pytest.fixture(scope="module")
def image(cloud: IdentityCloud) -> str:
    made = cloud.call("POST", "/image/v2/images", USER, {"name": "q-image", **IMAGE_BODY})
    assert made.status == 201, made.body
    image_id: str = made.body["id"]
    uploaded = cloud.call("PUT", f"/image/v2/images/{image_id}/file", USER, raw=b"\0" * 4096)
    assert uploaded.status == 204, uploaded.body
    return image_id


def boot(cloud: IdentityCloud, flavor: str, image: str, name: str) -> Any:
    server = {"name": name, "flavorRef": flavor, "imageRef": image, "networks": "none"}
    return cloud.call("POST", f"{COMPUTE}/servers", USER, {"server": server})


def wait_active(cloud: IdentityCloud, server_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = cloud.call("GET", f"{COMPUTE}/servers/{server_id}", USER).body["server"]
        if shown["status"] != "BUILD":
            assert shown["status"] == "ACTIVE", shown
            return
        time.sleep(0.2)
    raise AssertionError(f"server {server_id} still building after 60 s")


def delete_all(cloud: IdentityCloud) -> None:
    for server in cloud.call("GET", f"{COMPUTE}/servers", USER).body["servers"]:
        cloud.call("DELETE", f"{COMPUTE}/servers/{server['id']}", USER)
    deadline = time.monotonic() + 60
    while cloud.call("GET", f"{COMPUTE}/servers", USER).body["servers"]:
        assert time.monotonic() < deadline, "servers not deleted within 60 s"
        time.sleep(0.2)


def quota_detail(cloud: IdentityCloud, who: str, project: str) -> Any:
    return cloud.call("GET", f"{COMPUTE}/os-quota-sets/{project}/detail", who)


def test_eight_concurrent_boots_give_exactly_the_two_servers_the_limit_allows(
    cloud: IdentityCloud, limits: Limits, flavors: dict[str, str], image: str
) -> None:
    limits.set("compute", PROJECT, "servers", 2)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda i: boot(cloud, flavors["q.one"], image, f"race-{i}"), range(8))
        )
    accepted = [r for r in replies if r.status == 202]
    refused = [r for r in replies if r.status == 403]
    assert (len(accepted), len(refused)) == (2, 6), [(r.status, r.body) for r in replies]
    for reply in refused:
        assert reply.body["forbidden"]["message"] == (
            "Quota exceeded for servers: Requested 1, but already used 2 of 2 servers"
        )
    for reply in accepted:
        wait_active(cloud, reply.body["server"]["id"])
    project_id = limits.project_id(PROJECT)
    shown = quota_detail(cloud, USER, project_id)
    assert shown.status == 200, shown.body
    assert shown.body["quota_set"]["instances"] == {"limit": 2, "in_use": 2, "reserved": 0}
    assert shown.body["quota_set"]["cores"]["in_use"] == 2

    # usage returns after a delete: one more boot fits, the next does not
    first = accepted[0].body["server"]["id"]
    assert cloud.call("DELETE", f"{COMPUTE}/servers/{first}", USER).status == 204
    deadline = time.monotonic() + 60
    while cloud.call("GET", f"{COMPUTE}/servers/{first}", USER).status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    again = boot(cloud, flavors["q.one"], image, "after-delete")
    assert again.status == 202, again.body
    assert boot(cloud, flavors["q.one"], image, "one-too-many").status == 403
    delete_all(cloud)
    after = quota_detail(cloud, USER, project_id).body["quota_set"]
    assert after["instances"]["in_use"] == 0 and after["cores"]["in_use"] == 0


def test_a_vcpu_limit_names_the_resource_the_usage_and_the_limit(
    cloud: IdentityCloud, limits: Limits, flavors: dict[str, str], image: str
) -> None:
    limits.set("compute", PROJECT, "class:VCPU", 3)
    first = boot(cloud, flavors["q.two"], image, "two-cpus")
    assert first.status == 202, first.body
    second = boot(cloud, flavors["q.two"], image, "two-more")
    assert second.status == 403
    assert second.body["forbidden"]["message"] == (
        "Quota exceeded for class:VCPU: Requested 2, but already used 2 of 3 class:VCPU"
    )
    assert boot(cloud, flavors["q.one"], image, "one-more").status == 202
    limits_doc = cloud.call("GET", f"{COMPUTE}/limits", USER).body["limits"]["absolute"]
    assert limits_doc["maxTotalCores"] == 3
    assert limits_doc["totalCoresUsed"] == 3
    assert limits_doc["totalInstancesUsed"] == 2
    delete_all(cloud)


def server_state(cloud: IdentityCloud, server_id: str) -> tuple[str, str | None]:
    shown = cloud.call("GET", f"{COMPUTE}/servers/{server_id}", USER).body["server"]
    return shown["status"], shown["OS-EXT-STS:task_state"]


def settle(cloud: IdentityCloud, server_id: str, status: str) -> None:
    deadline = time.monotonic() + 60
    while (now := server_state(cloud, server_id)) != (status, None):
        assert time.monotonic() < deadline, now
        time.sleep(0.2)


def server_action(cloud: IdentityCloud, server_id: str, body: dict[str, Any]) -> Any:
    return cloud.call("POST", f"{COMPUTE}/servers/{server_id}/action", USER, body)


def test_a_resize_counts_what_the_new_flavor_adds_and_gives_it_back_on_revert(
    cloud: IdentityCloud, limits: Limits, flavors: dict[str, str], image: str
) -> None:
    limits.set("compute", PROJECT, "class:VCPU", 2)
    project_id = limits.project_id(PROJECT)

    def cores() -> Any:
        return quota_detail(cloud, USER, project_id).body["quota_set"]["cores"]["in_use"]

    small = boot(cloud, flavors["q.one"], image, "grows")
    other = boot(cloud, flavors["q.one"], image, "neighbour")
    for reply in (small, other):
        assert reply.status == 202, reply.body
        wait_active(cloud, reply.body["server"]["id"])
    uuid = small.body["server"]["id"]
    refused = server_action(cloud, uuid, {"resize": {"flavorRef": flavors["q.two"]}})
    assert refused.status == 403, refused.body
    assert refused.body["forbidden"]["message"] == (
        "Quota exceeded for class:VCPU: Requested 1, but already used 2 of 2 class:VCPU"
    )
    assert server_state(cloud, uuid) == ("ACTIVE", None)  # nothing began
    assert cores() == 2

    neighbour = other.body["server"]["id"]
    assert cloud.call("DELETE", f"{COMPUTE}/servers/{neighbour}", USER).status == 204
    deadline = time.monotonic() + 60
    while cloud.call("GET", f"{COMPUTE}/servers/{neighbour}", USER).status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    resized = server_action(cloud, uuid, {"resize": {"flavorRef": flavors["q.two"]}})
    assert resized.status == 202, resized.body
    settle(cloud, uuid, "VERIFY_RESIZE")
    assert cores() == 2  # the larger flavor counts until a confirm or revert
    assert boot(cloud, flavors["q.one"], image, "squeezed").status == 403
    assert server_action(cloud, uuid, {"revertResize": None}).status == 202
    settle(cloud, uuid, "ACTIVE")
    assert cores() == 1  # the revert gave the added core back
    again = boot(cloud, flavors["q.one"], image, "fits-again")
    assert again.status == 202, again.body
    wait_active(cloud, again.body["server"]["id"])
    # a resize down needs no quota; confirmed, the smaller flavor counts
    cloud.call("DELETE", f"{COMPUTE}/servers/{uuid}", USER)
    delete_all(cloud)
    assert cores() == 0


def test_a_flavors_custom_resource_class_is_limited_too(
    cloud: IdentityCloud, limits: Limits, image: str
) -> None:
    body = {"flavor": {"name": "q.custom", "vcpus": 1, "ram": 64, "disk": 1}}
    flavor = cloud.call("POST", f"{COMPUTE}/flavors", "admin", body).body["flavor"]["id"]
    specs = {"extra_specs": {"resources:CUSTOM_WIDGET": "1"}}
    made = cloud.call("POST", f"{COMPUTE}/flavors/{flavor}/os-extra_specs", "admin", specs)
    assert made.status == 200, made.body
    limits.register("compute", "class:CUSTOM_WIDGET", 5)  # Keystone needs one first
    limits.set("compute", PROJECT, "class:CUSTOM_WIDGET", 0)
    refused = boot(cloud, flavor, image, "widget")
    assert refused.status == 403
    assert refused.body["forbidden"]["message"] == (
        "Quota exceeded for class:CUSTOM_WIDGET: Requested 1, but already used 0 of 0 "
        "class:CUSTOM_WIDGET"
    )
    assert cloud.call("GET", f"{COMPUTE}/servers", USER).body["servers"] == []


def test_quota_sets_report_keystone_limits_and_refuse_updates(
    cloud: IdentityCloud, limits: Limits
) -> None:
    limits.set("compute", PROJECT, "servers", 7)
    project_id = limits.project_id(PROJECT)
    shown = cloud.call("GET", f"{COMPUTE}/os-quota-sets/{project_id}", USER)
    assert shown.status == 200, shown.body
    assert shown.body["quota_set"]["instances"] == 7
    assert shown.body["quota_set"]["cores"] == -1  # the registered limit: unlimited
    defaults = cloud.call("GET", f"{COMPUTE}/os-quota-sets/{project_id}/defaults", USER)
    assert defaults.body["quota_set"]["instances"] == -1
    other = limits.project_id(OTHER_PROJECT)
    assert cloud.call("GET", f"{COMPUTE}/os-quota-sets/{other}", USER).status == 403
    assert quota_detail(cloud, "admin", project_id).body["quota_set"]["instances"]["limit"] == 7
    update = {"quota_set": {"instances": 50}}
    refused = cloud.call("PUT", f"{COMPUTE}/os-quota-sets/{project_id}", "admin", update)
    assert refused.status == 400
    assert "openstack limit create" in refused.body["badRequest"]["message"]
    member_put = cloud.call("PUT", f"{COMPUTE}/os-quota-sets/{project_id}", USER, update)
    assert member_put.status == 403
    assert cloud.call("DELETE", f"{COMPUTE}/os-quota-sets/{project_id}", "admin").status == 400


PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 q@vf"


def make_keypair(cloud: IdentityCloud, who: str, name: str) -> Any:
    """``openstack keypair create --public-key FILE NAME`` as ``who``."""
    body = {"keypair": {"name": name, "public_key": PUBLIC_KEY}}
    return cloud.call("POST", f"{COMPUTE}/os-keypairs", who, body)


def test_key_pairs_are_limited_per_user_by_the_registered_limit(
    cloud: IdentityCloud, limits: Limits
) -> None:
    limits.register("compute", "server_key_pairs", 2)
    limits.set("compute", PROJECT, "server_key_pairs", 10)  # not for key pairs (as Nova)
    try:
        # counted in the write transaction that adds the key pair, as servers are (the
        # concurrent boots above show that racing requests take turns there)
        replies = [make_keypair(cloud, USER, f"k{i}") for i in range(3)]
        accepted = [r for r in replies if r.status == 200]
        refused = [r for r in replies if r.status == 403]
        assert (len(accepted), len(refused)) == (2, 1), [(r.status, r.body) for r in replies]
        for reply in refused:
            assert reply.body["forbidden"]["message"] == "Quota exceeded, too many key pairs."
        listed = cloud.call("GET", f"{COMPUTE}/os-keypairs", USER).body["keypairs"]
        assert len(listed) == 2
        # per user: another user of another project has a quota of their own
        assert make_keypair(cloud, OTHER_USER, "r1").status == 200
        project_id = limits.project_id(PROJECT)
        detail = quota_detail(cloud, USER, project_id).body["quota_set"]
        assert detail["key_pairs"] == {"limit": 2, "in_use": 2, "reserved": 0}
        absolute = cloud.call("GET", f"{COMPUTE}/limits", USER).body["limits"]["absolute"]
        assert absolute["maxTotalKeypairs"] == 2
        # a key pair deleted makes room for one more
        gone = accepted[0].body["keypair"]["name"]
        assert cloud.call("DELETE", f"{COMPUTE}/os-keypairs/{gone}", USER).status == 202
        assert make_keypair(cloud, USER, "again").status == 200
        assert make_keypair(cloud, USER, "one-too-many").status == 403
    finally:
        for who in (USER, OTHER_USER):
            for pair in cloud.call("GET", f"{COMPUTE}/os-keypairs", who).body["keypairs"]:
                name = pair["keypair"]["name"]
                cloud.call("DELETE", f"{COMPUTE}/os-keypairs/{name}", who)
    limits.clear()  # no registered limit: key pairs are not limited (the strategy)
    assert make_keypair(cloud, USER, "unlimited").status == 200
    cloud.call("DELETE", f"{COMPUTE}/os-keypairs/unlimited", USER)


def test_image_count_and_data_limits_hold_as_in_glance(
    cloud: IdentityCloud, limits: Limits
) -> None:
    limits.set("image", OTHER_PROJECT, "image_count_total", 1)
    limits.set("image", OTHER_PROJECT, "image_size_total", 1)  # MiB
    made = cloud.call("POST", "/image/v2/images", OTHER_USER, {"name": "r1", **IMAGE_BODY})
    assert made.status == 201, made.body
    second = cloud.call("POST", "/image/v2/images", OTHER_USER, {"name": "r2", **IMAGE_BODY})
    assert second.status == 413
    assert "image_count_total is over limit of 1 due to current usage 1 and delta 1" in str(
        second.body
    )
    image_id = made.body["id"]
    too_big = cloud.call(
        "PUT", f"/image/v2/images/{image_id}/file", OTHER_USER, raw=b"\0" * (2 << 20)
    )
    assert too_big.status == 413
    assert "image_size_total is over limit of 1" in str(too_big.body)
    assert cloud.call("GET", f"/image/v2/images/{image_id}", OTHER_USER).body["status"] == "queued"
    fits = cloud.call("PUT", f"/image/v2/images/{image_id}/file", OTHER_USER, raw=b"\0" * 4096)
    assert fits.status == 204, fits.body


def test_the_openstack_cli_shows_quotas_and_limits_as_admin(
    cloud: IdentityCloud, limits: Limits, tmp_path: pathlib.Path
) -> None:
    """`openstack quota show --usage` (Compute and Networking), `limits show
    --absolute --project` and `quota set` (refused) with password auth and the
    catalog: no endpoint overrides."""
    assert cloud.keystone is not None
    limits.set("compute", PROJECT, "servers", 3)
    limits.register("compute", "server_key_pairs", 4)
    clouds_yaml = tmp_path / "clouds.yaml"
    entry = clouds.password_entry(
        cloud.keystone.auth_url,
        ADMIN_USER,
        cloud.keystone.layout.admin_password(),
        ADMIN_PROJECT,
        "RegionOne",
    )
    clouds.write_entry(clouds_yaml, entry)
    cli = CLI(clouds_yaml, [])
    quota = cli.json("quota", "show", "--usage", PROJECT)
    rows = {row["Resource"]: row for row in quota} if isinstance(quota, list) else quota
    assert rows["instances"]["Limit"] == 3, rows
    assert rows["instances"]["In Use"] == 0, rows
    assert rows["networks"]["Limit"] == -1, rows
    assert rows["key-pairs"]["Limit"] == 4, rows
    absolute = cli.json("limits", "show", "--absolute", "--project", PROJECT)
    by_name = {row["Name"]: row["Value"] for row in absolute}
    # openstacksdk names the absolute limits by its own field names.
    assert by_name.get("instances", by_name.get("maxTotalInstances")) == 3, by_name
    refused = cli.run("quota", "set", "--instances", "9", PROJECT, check=False)
    assert refused.returncode != 0
    assert "openstack limit create" in refused.stderr
