"""The one WSGI application: `/compute`, `/image`, `/networking`, `/placement` and the
`/dashboard` on one listener (:func:`make_app`), behind the authentication of
:mod:`virtfleet.api.auth` (the dashboard's session cookie in front of it) and with the
policy's authorizer (:func:`protect_app`)."""

from __future__ import annotations

from oslo_config import cfg

from virtfleet.api import auth, versions
from virtfleet.api.auth import WSGIApp
from virtfleet.api.compute import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.dashboard import make_dashboard_app
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.dashboard.session import SessionGate
from virtfleet.api.image import make_image_app
from virtfleet.api.metrics import make_metrics_app
from virtfleet.api.metrics.sources import heartbeat_source, placement_source
from virtfleet.api.network import make_network_app
from virtfleet.api.observe import observed
from virtfleet.api.placement import make_app as make_placement_app
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.api.wsgi import PrefixDispatcher
from virtfleet.network.service import NetworkService
from virtfleet.observability.metrics import TextSource


def metrics_sources(deps: ComputeDeps) -> list[TextSource]:
    """The scrape-time sources of a control plane's fleet state."""
    down_after = float(deps.conf.compute.host_down_after) if deps.conf is not None else 0.0
    return [placement_source(deps.placement), heartbeat_source(deps.db, down_after)]


def make_app(deps: ComputeDeps, networks: NetworkService) -> PrefixDispatcher:
    """Mount the APIs of one control plane (its services in ``deps`` and
    ``networks``) under their devstack-style prefixes, and its metrics at ``/metrics``."""
    compute = make_compute_app(deps)
    apps: dict[str, WSGIApp] = {
        "compute": compute,
        "image": make_image_app(deps),
        "networking": make_network_app(networks),
        "placement": make_placement_app(deps.placement),
        "dashboard": make_dashboard_app(DashboardDeps(deps.db, deps.conf, compute)),
        "metrics": make_metrics_app(metrics_sources(deps)),
    }
    if deps.conf is None or auth.is_noauth(deps.conf):
        # Without Keystone the openstack CLI still builds an Identity client first:
        # clouds.yaml points it at this version document (see cli/clouds.py).
        apps["identity"] = versions.make_identity_stub_app()
        # ... and `availability zone list` asks Block Storage for its zones (none).
        apps["volume"] = versions.make_volume_stub_app()
    return PrefixDispatcher(apps, root=versions.make_root_app())


def protect_app(apis: PrefixDispatcher, conf: cfg.ConfigOpts) -> WSGIApp:
    """``apis`` behind authentication ([api] auth_strategy) with the policy's
    authorizer in every request's environment, and request ids and metrics around all
    of it (:mod:`virtfleet.api.observe`)."""
    authorized = with_authorizer(apis, Authorizer(conf))
    return observed(SessionGate(auth.protect(authorized, conf), noauth=auth.is_noauth(conf)))
