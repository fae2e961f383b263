"""The one WSGI application: `/compute`, `/image`, `/networking` and `/placement` on one
listener (:func:`make_app`), behind the authentication of :mod:`virtfleet.api.auth` and
with the policy's authorizer (:func:`protect_app`)."""

from __future__ import annotations

from oslo_config import cfg

from virtfleet.api import auth, versions
from virtfleet.api.auth import WSGIApp
from virtfleet.api.compute import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.image import make_image_app
from virtfleet.api.network import make_network_app
from virtfleet.api.placement import make_app as make_placement_app
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.api.wsgi import PrefixDispatcher
from virtfleet.network.service import NetworkService


def make_app(deps: ComputeDeps, networks: NetworkService) -> PrefixDispatcher:
    """Mount the APIs of one control plane (its services in ``deps`` and
    ``networks``) under their devstack-style prefixes."""
    apps: dict[str, WSGIApp] = {
        "compute": make_compute_app(deps),
        "image": make_image_app(deps),
        "networking": make_network_app(networks),
        "placement": make_placement_app(deps.placement),
    }
    if deps.conf is None or auth.is_noauth(deps.conf):
        # Without Keystone the openstack CLI still builds an Identity client first:
        # clouds.yaml points it at this version document (see cli/clouds.py).
        apps["identity"] = versions.make_identity_stub_app()
    return PrefixDispatcher(apps, root=versions.make_root_app())


def protect_app(apis: PrefixDispatcher, conf: cfg.ConfigOpts) -> WSGIApp:
    """``apis`` behind authentication ([api] auth_strategy) with the policy's
    authorizer in every request's environment."""
    authorized = with_authorizer(apis, Authorizer(conf))
    return auth.protect(authorized, conf)
