"""Keystone unified limits as oslo.limit reads them, from virtfleet's own configuration.

oslo.limit reads its options from the process-wide ``cfg.CONF`` and keeps one
process-wide Keystone connection, made the first time an ``Enforcer`` is built.
virtfleet keeps its configuration in a private ``ConfigOpts`` per control plane (a
test process runs several clouds, each with its own Keystone), so it does not hand
oslo.limit the globals to keep:

- :class:`UnifiedLimits` builds the Keystone connection itself from virtfleet's
  ``[oslo_limit]`` (the same options, in virtfleet.conf) and looks up, once per service
  type, the endpoint whose limits apply (``endpoint_id`` when ``endpoint_service_type``
  names that service, else the service type's ``endpoint_interface`` endpoint in
  ``endpoint_region_name``);
- :meth:`UnifiedLimits.enforcer` builds an ``oslo_limit.limit.Enforcer`` while holding
  a process-wide lock, with oslo.limit's connection global set to a :class:`KeystoneView`
  of this cloud's connection and ``cfg.CONF.oslo_limit.endpoint_id`` overridden to the
  endpoint found; both are put back before the lock is released. The enforcer keeps
  the view and the endpoint's service and region, so it goes on using this cloud's
  Keystone; oslo.limit itself compares usage and limits.

A :class:`KeystoneView` answers the calls oslo.limit makes (enforcement model, endpoint,
limits, registered limits) from memory once made: within one request always (the
limits are read before the database write lock is taken, and the check under the lock
makes no call), across requests for ``[quota] limits_cache_seconds`` (so a boot costs
Keystone no call while they are fresh, and a limit changed in Keystone counts at most
that long after; 0 reads them for every request, as Nova does).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading
from keystoneauth1 import session as ks_session
from openstack import connection as sdk_connection
from openstack import exceptions as sdk_exceptions
from oslo_config import cfg
from oslo_limit import limit as oslo_limit

from virtfleet import errors
from virtfleet.identity.layout import DOMAIN, SERVICE_USER

GROUP = "oslo_limit"
UsageCallback = Callable[[str | None, Collection[str]], dict[str, int]]
KEYSTONE_ERRORS = (sdk_exceptions.SDKException, ks_exceptions.ClientException)

#: Held while an enforcer is built with oslo.limit's globals pointing at one cloud.
_BUILDING = threading.Lock()
#: The usage callback of the enforcement running in this thread.
_USAGE: contextvars.ContextVar[UsageCallback] = contextvars.ContextVar("virtfleet_limit_usage")


def _current_usage(project_id: str | None, names: Collection[str]) -> dict[str, int]:
    """The usage callback of every enforcer: the one :meth:`UnifiedLimits.enforce`
    was given, in this thread."""
    return _USAGE.get()(project_id, names)


def unavailable(exc: Exception) -> errors.Unavailable:
    return errors.Unavailable(f"Keystone's limits cannot be read ([oslo_limit]): {exc}")


class _Memo:
    """Answers kept for ``ttl`` seconds, shared by the requests of one cloud."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._kept: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            found = self._kept.get(key)
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        if self.ttl > 0:
            with self._lock:
                self._kept[key] = (time.monotonic() + self.ttl, value)


class _ModelReply:
    """What ``Enforcer`` reads of ``GET /limits/model``: ``.json()``."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def json(self) -> Any:
        return self._body


class KeystoneView:
    """The Identity calls oslo.limit makes, each made once per request (and kept in
    the cloud's memo for the cache time); other calls go to the connection."""

    def __init__(self, identity: Any, shared: _Memo) -> None:
        self._identity = identity
        self._shared = shared
        self._mine: dict[tuple[Any, ...], Any] = {}

    def _answer(self, key: tuple[Any, ...], fetch: Callable[[], Any]) -> Any:
        if key in self._mine:
            return self._mine[key]
        value = self._shared.get(key)
        if value is None:
            value = fetch()
            self._shared.put(key, value)
        self._mine[key] = value
        return value

    def get(self, path: str) -> _ModelReply:
        return _ModelReply(self._answer(("get", path), lambda: self._identity.get(path).json()))

    def get_endpoint(self, endpoint_id: str) -> Any:
        return self._answer(
            ("endpoint", endpoint_id), lambda: self._identity.get_endpoint(endpoint_id)
        )

    def limits(self, **query: Any) -> Iterator[Any]:
        key = ("limits", *sorted(query.items()))
        return iter(self._answer(key, lambda: list(self._identity.limits(**query))))

    def registered_limits(self, **query: Any) -> Iterator[Any]:
        key = ("registered_limits", *sorted(query.items()))
        return iter(self._answer(key, lambda: list(self._identity.registered_limits(**query))))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._identity, name)


@dataclass(frozen=True)
class Endpoint:
    """The catalog endpoint whose limits apply to one service."""

    id: str
    service_id: str
    region_id: str | None


class UnifiedLimits:
    """One cloud's way to Keystone's limits (see the module docstring)."""

    def __init__(self, conf: cfg.ConfigOpts, cache_seconds: float = 0.0) -> None:
        self._conf = conf
        self._lock = threading.Lock()
        self._identity: Any = None
        self._endpoints: dict[str, Endpoint] = {}
        self._memo = _Memo(cache_seconds)

    @staticmethod
    def configured(conf: cfg.ConfigOpts) -> bool:
        """Whether ``[oslo_limit]`` names credentials (an ``auth_type``)."""
        return bool(conf.oslo_limit.auth_type)

    def identity(self) -> Any:
        """openstacksdk's Identity v3 proxy, authenticated by ``[oslo_limit]``."""
        with self._lock:
            if self._identity is None:
                self._identity = self._connect()
            return self._identity

    def _connect(self) -> Any:
        try:
            auth = loading.load_auth_from_conf_options(self._conf, GROUP)
            session: ks_session.Session = loading.load_session_from_conf_options(
                self._conf, GROUP, auth=auth
            )
            conn = sdk_connection.Connection(
                session=session,
                identity_interface=self._conf.oslo_limit.valid_interfaces,
                identity_region_name=self._conf.oslo_limit.region_name,
            )
        except KEYSTONE_ERRORS as exc:
            raise unavailable(exc) from None
        return conn.identity

    def view(self) -> KeystoneView:
        """A view of Keystone for one request."""
        return KeystoneView(self.identity(), self._memo)

    def endpoint(self, service_type: str) -> Endpoint:
        """The endpoint of ``service_type`` whose limits apply (looked up once)."""
        found = self._endpoints.get(service_type)
        if found is None:
            found = self._find_endpoint(service_type)
            self._endpoints[service_type] = found
        return found

    def _find_endpoint(self, service_type: str) -> Endpoint:
        options = self._conf.oslo_limit
        identity = self.identity()
        try:
            if options.endpoint_id and service_type == options.endpoint_service_type:
                endpoint = identity.get_endpoint(options.endpoint_id)
            else:
                services = list(identity.services(type=service_type))
                if len(services) != 1:
                    raise errors.Unavailable(
                        f"[oslo_limit]: Keystone's catalog has {len(services)} services of "
                        f"type {service_type!r}; the limits need exactly one"
                    )
                region = options.endpoint_region_name
                found = [
                    e
                    for e in identity.endpoints(
                        service_id=services[0].id,
                        interface=options.endpoint_interface.removesuffix("URL"),
                    )
                    if region is None or e.region_id == region
                ]
                if len(found) != 1:
                    raise errors.Unavailable(
                        f"[oslo_limit]: {len(found)} {options.endpoint_interface} endpoints "
                        f"of the {service_type} service in region {region or '(any)'}; the "
                        "limits need exactly one"
                    )
                endpoint = found[0]
        except KEYSTONE_ERRORS as exc:
            raise unavailable(exc) from None
        return Endpoint(str(endpoint.id), str(endpoint.service_id), endpoint.region_id)

    def enforcer(self, service_type: str, view: KeystoneView) -> oslo_limit.Enforcer:
        """oslo.limit's enforcer of ``service_type``'s limits, reading Keystone through
        ``view``; it counts usage with the callback :meth:`enforce` is given."""
        endpoint = self.endpoint(service_type)
        with _BUILDING:
            saved = oslo_limit._SDK_CONNECTION
            oslo_limit._SDK_CONNECTION = view  # type: ignore[assignment]  # duck-typed
            cfg.CONF.set_override("endpoint_id", endpoint.id, group=GROUP)
            try:
                return oslo_limit.Enforcer(_current_usage, cache=True)
            except KEYSTONE_ERRORS as exc:
                raise unavailable(exc) from None
            finally:
                cfg.CONF.clear_override("endpoint_id", group=GROUP)
                oslo_limit._SDK_CONNECTION = saved

    @staticmethod
    def enforce(
        enforcer: oslo_limit.Enforcer,
        project_id: str | None,
        deltas: dict[str, int],
        usage: UsageCallback,
    ) -> None:
        """oslo.limit's verdict on ``deltas`` for ``project_id`` (None: against the
        registered limits alone), counting the usage with ``usage``:
        ``ProjectOverLimit`` when they do not fit."""
        token = _USAGE.set(usage)
        try:
            enforcer.enforce(project_id, deltas)
        except KEYSTONE_ERRORS as exc:
            raise unavailable(exc) from None
        finally:
            _USAGE.reset(token)

    def defined_limits(
        self, service_type: str, project_id: str | None, view: KeystoneView | None = None
    ) -> dict[str, int]:
        """Resource name -> limit for every resource Keystone has a registered limit or
        a limit of ``project_id`` for (the project's limit wins)."""
        endpoint = self.endpoint(service_type)
        view = view or self.view()
        where = {"service_id": endpoint.service_id, "region_id": endpoint.region_id}
        try:
            found = {r.resource_name: int(r.default_limit) for r in view.registered_limits(**where)}
            if project_id is not None:
                for own in view.limits(project_id=project_id, **where):
                    found[own.resource_name] = int(own.resource_limit)
        except KEYSTONE_ERRORS as exc:
            raise unavailable(exc) from None
        return found


def use_keystone(conf: cfg.ConfigOpts, auth_url: str, password: str, region: str) -> None:
    """Point ``conf``'s ``[oslo_limit]`` at the embedded Keystone: the service user,
    system-scoped (it has the system ``reader`` role), the limits of ``region``."""
    conf.register_opts(loading.get_auth_plugin_conf_options("password"), group=GROUP)
    values = {
        "auth_type": "password",
        "auth_url": auth_url,
        "username": SERVICE_USER,
        "password": password,
        "user_domain_name": DOMAIN,
        "system_scope": "all",
        "endpoint_region_name": region,
        "endpoint_interface": "public",
        "valid_interfaces": ["public"],
    }
    for name, value in values.items():
        conf.set_override(name, value, group=GROUP)
