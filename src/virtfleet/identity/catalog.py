"""The service user, the service catalog and the default limits of the embedded Keystone.

At every start `virtfleet up` makes sure that the ``virtfleet`` service user exists in
the ``service`` project with the ``service`` role (the APIs' auth_token middleware
validates tokens with it) and the system ``reader`` role (oslo.limit reads the limits
with it), that the catalog lists exactly the services that exist (identity, compute,
image, network, placement) at the URLs they are served on now, and that the quota
resources have registered limits (unlimited until the operator sets them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from virtfleet import errors
from virtfleet.identity.layout import SERVICE_PROJECT, SERVICE_USER

#: Service type -> (service name, description).
SERVICES: dict[str, tuple[str, str]] = {
    "identity": ("keystone", "OpenStack Identity (Keystone)"),
    "compute": ("nova", "virtfleet Compute API"),
    "image": ("glance", "virtfleet Image API"),
    "network": ("neutron", "virtfleet Networking API"),
    "placement": ("placement", "virtfleet Placement API"),
}
INTERFACES = ("public", "internal", "admin")
#: Registered limits `virtfleet up` makes when missing (-1: unlimited), per service
#: type; an operator's values (``openstack registered limit set``) are kept.
DEFAULT_LIMITS: dict[str, dict[str, int]] = {
    "compute": dict.fromkeys(("servers", "class:VCPU", "class:MEMORY_MB", "class:DISK_GB"), -1),
    "image": dict.fromkeys(("image_count_total", "image_size_total"), -1),
}


class IdentityAdmin:
    """Identity API v3 calls made as the admin user (``session`` authenticates)."""

    def __init__(self, session: ks_session.Session, auth_url: str) -> None:
        self.session = session
        # Absolute URLs: the catalog's identity endpoint may be the one to fix.
        self.base = auth_url.rstrip("/")

    def _get(self, path: str) -> Any:
        return self.session.get(self.base + path).json()

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.session.post(self.base + path, json=body).json()

    def _put(self, path: str) -> None:
        self.session.put(self.base + path)

    def _patch(self, path: str, body: Mapping[str, Any]) -> None:
        self.session.patch(self.base + path, json=body)

    def _delete(self, path: str) -> None:
        self.session.delete(self.base + path)

    def _one(self, path: str, key: str, name: str) -> dict[str, Any] | None:
        found: list[dict[str, Any]] = self._get(f"{path}?name={name}")[key]
        return found[0] if found else None

    def ensure_service_user(self, password: str) -> str:
        """The ``virtfleet`` user (password reset to ``password``) with the ``service``
        role in the ``service`` project; its user id."""
        domain = "default"
        project = (
            self._one("/projects", "projects", SERVICE_PROJECT)
            or self._post(
                "/projects",
                {
                    "project": {
                        "name": SERVICE_PROJECT,
                        "domain_id": domain,
                        "description": "Services",
                    }
                },
            )["project"]
        )
        user = self._one("/users", "users", SERVICE_USER)
        if user is None:
            body = {"name": SERVICE_USER, "domain_id": domain, "password": password}
            user = self._post("/users", {"user": body})["user"]
        else:
            self._patch(f"/users/{user['id']}", {"user": {"password": password}})
        role = self._one("/roles", "roles", "service")
        assert role is not None, "keystone-manage bootstrap creates the service role"
        self._put(f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
        # oslo.limit reads every project's limits and the catalog with a system token.
        reader = self._one("/roles", "roles", "reader")
        assert reader is not None, "keystone-manage bootstrap creates the reader role"
        self._put(f"/system/users/{user['id']}/roles/{reader['id']}")
        return str(user["id"])

    def ensure_registered_limits(
        self, defaults: Mapping[str, Mapping[str, int]], region: str
    ) -> None:
        """Registered limits of ``defaults`` (service type -> resource -> default) that
        Keystone lacks in ``region``; existing ones are left as they are."""
        services: list[dict[str, Any]] = self._get("/services")["services"]
        for service in services:
            wanted = defaults.get(service["type"], {})
            if not wanted:
                continue
            query = f"/registered_limits?service_id={service['id']}&region_id={region}"
            have = {r["resource_name"] for r in self._get(query)["registered_limits"]}
            missing = [
                {
                    "service_id": service["id"],
                    "region_id": region,
                    "resource_name": name,
                    "default_limit": limit,
                }
                for name, limit in wanted.items()
                if name not in have
            ]
            if missing:
                self._post("/registered_limits", {"registered_limits": missing})

    def ensure_catalog(self, urls: Mapping[str, str], region: str) -> None:
        """Exactly the services of ``urls`` (type -> URL), each with a public, internal
        and admin endpoint at its URL in ``region``; other services are removed."""
        services: list[dict[str, Any]] = self._get("/services")["services"]
        endpoints: list[dict[str, Any]] = self._get("/endpoints")["endpoints"]
        for service in services:
            if service["type"] not in urls:
                self._delete(f"/services/{service['id']}")
        for service_type, url in urls.items():
            known = [s for s in services if s["type"] == service_type]
            if known:
                service = known[0]
            else:
                name, description = SERVICES[service_type]
                body = {"type": service_type, "name": name, "description": description}
                service = self._post("/services", {"service": body})["service"]
            mine = [e for e in endpoints if e["service_id"] == service["id"]]
            for interface in INTERFACES:
                self._ensure_endpoint(service["id"], interface, url, region, mine)

    def _ensure_endpoint(
        self,
        service_id: str,
        interface: str,
        url: str,
        region: str,
        existing: list[dict[str, Any]],
    ) -> None:
        same = [e for e in existing if e["interface"] == interface]
        for extra in same[1:]:
            self._delete(f"/endpoints/{extra['id']}")
        body = {"interface": interface, "url": url, "region_id": region, "service_id": service_id}
        if not same:
            self._post("/endpoints", {"endpoint": body})
        elif same[0]["url"] != url or same[0].get("region_id") != region:
            self._patch(f"/endpoints/{same[0]['id']}", {"endpoint": body})


def service_urls(auth_url: str, api_endpoint: str) -> dict[str, str]:
    """Service type -> URL: Keystone's, and the three APIs under ``api_endpoint``."""
    return {
        "identity": auth_url,
        "compute": f"{api_endpoint}/compute/v2.1",
        "image": f"{api_endpoint}/image",
        "network": f"{api_endpoint}/networking",
        "placement": f"{api_endpoint}/placement",
    }


def register(
    admin: IdentityAdmin, service_password: str, urls: Mapping[str, str], region: str
) -> None:
    """The service user and the catalog of ``urls``; ``ConfigError`` when Keystone
    refuses (naming its answer)."""
    try:
        admin.ensure_service_user(service_password)
        admin.ensure_catalog(urls, region)
        admin.ensure_registered_limits(DEFAULT_LIMITS, region)
    except ks_exceptions.ClientException as exc:
        raise errors.ConfigError(f"registering the service catalog in keystone: {exc}") from None
