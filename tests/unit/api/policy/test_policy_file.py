"""Policy defaults, overrides from the operator's policy file, and the generator."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from virtfleet import conf as vconf
from virtfleet.api.policy.enforcer import Authorizer
from virtfleet.api.wsgi import HTTPError, Request

HYPERVISORS = "os_compute_api:os-hypervisors:list"


def request(roles: str, project: str = "p1") -> Request:
    return Request.blank("/", headers={"X-Roles": roles, "X-Project-Id": project})


def authorizer(tmp_path: pathlib.Path, policy_text: str | None = None) -> Authorizer:
    overrides: dict[str, object] = {"api__auth_strategy": "noauth"}
    if policy_text is not None:
        policy = tmp_path / "policy.yaml"
        policy.write_text(policy_text)
        overrides["oslo_policy__policy_file"] = str(policy)
    return Authorizer(vconf.make_conf(**overrides))  # type: ignore[arg-type]  # option values


def test_defaults_follow_the_personas(tmp_path: pathlib.Path) -> None:
    check = authorizer(tmp_path)
    assert check.allowed(request("admin,member,reader"), HYPERVISORS)
    assert not check.allowed(request("member,reader"), HYPERVISORS)
    assert check.allowed(request("member,reader"), "os_compute_api:servers:create")
    assert not check.allowed(request("reader"), "os_compute_api:servers:create")
    assert check.allowed(request("reader"), "os_compute_api:servers:index")
    assert check.allowed(request("service"), "placement:allocations:update")
    assert not check.allowed(request("member,reader"), "placement:allocations:update")
    other = {"project_id": "p2"}
    assert not check.allowed(request("member,reader"), "os_compute_api:servers:show", other)


def test_a_refusal_is_a_403_naming_the_rule(tmp_path: pathlib.Path) -> None:
    with pytest.raises(HTTPError) as refused:
        authorizer(tmp_path).authorize(request("member"), HYPERVISORS)
    assert refused.value.status == 403
    assert HYPERVISORS in refused.value.message


def test_the_policy_file_overrides_a_default(tmp_path: pathlib.Path) -> None:
    check = authorizer(tmp_path, f'"{HYPERVISORS}": "role:member"\n')
    assert check.allowed(request("member"), HYPERVISORS)
    assert not check.allowed(request("reader"), HYPERVISORS)
    assert not check.allowed(request("member"), "os_compute_api:os-hypervisors:show")


def test_noauth_without_roles_is_an_admin(tmp_path: pathlib.Path) -> None:
    assert authorizer(tmp_path).allowed(Request.blank("/"), HYPERVISORS)


def test_the_sample_generator_lists_virtfleets_rules() -> None:
    generator = pathlib.Path(sys.executable).parent / "oslopolicy-sample-generator"
    result = subprocess.run(
        [str(generator), "--namespace", "virtfleet"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for rule in ("os_compute_api:servers:create", "get_image", "placement:usages", HYPERVISORS):
        assert f'"{rule}":' in result.stdout
