"""The policy enforcer: virtfleet's rules, the operator's policy file, 403 on refusal.

Rules are registered with their defaults (:func:`virtfleet.api.policy.list_rules`);
``[oslo_policy] policy_file`` (``policy.yaml`` beside the config by default) overrides
any of them, as in every OpenStack service. ``oslopolicy-sample-generator
--namespace virtfleet`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import policy

from virtfleet.api import auth
from virtfleet.api.auth import WSGIApp
from virtfleet.api.policy import context, list_rules
from virtfleet.api.wsgi import (
    AUTHORIZER_ENVIRON_KEY,
    HTTPError,
    Request,
    StartResponse,
    WSGIEnviron,
)


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer over ``conf`` ([oslo_policy]) with every virtfleet rule registered."""
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(list_rules())
    return enforcer


def get_enforcer() -> policy.Enforcer:
    """For oslopolicy-policy-generator (the ``oslo.policy.enforcer`` entry point)."""
    from virtfleet.conf import make_conf

    return make_enforcer(make_conf())


class Authorizer:
    """Checks a request against a rule; a refusal is an :class:`HTTPError` 403."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.enforcer = make_enforcer(conf)
        self.noauth = auth.is_noauth(conf)

    def allowed(self, req: Request, rule: str, target: Mapping[str, Any] | None = None) -> bool:
        """Whether the caller of ``req`` passes ``rule`` for ``target`` (default: the
        caller's own project and user)."""
        ctx = context.request_context(req, self.noauth)
        creds = context.credentials(ctx)
        wanted = dict(target or {"project_id": ctx.project_id, "user_id": ctx.user_id})
        try:
            return bool(self.enforcer.authorize(rule, wanted, creds, do_raise=False))
        except policy.InvalidScope:
            return False

    def authorize(self, req: Request, rule: str, target: Mapping[str, Any] | None = None) -> None:
        """403 naming ``rule`` unless the caller passes it."""
        if not self.allowed(req, rule, target):
            raise HTTPError(403, f"Policy doesn't allow {rule} to be performed.")

    __call__ = authorize

    def context(self, req: Request) -> oslo_context.RequestContext:
        return context.request_context(req, self.noauth)


def with_authorizer(app: WSGIApp, authorizer: Authorizer) -> WSGIApp:
    """``app`` with ``authorizer`` in every request's environment (for the routers'
    :func:`virtfleet.api.wsgi.enforce` and the handlers' :mod:`virtfleet.api.caller`)."""

    def authorized(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        environ[AUTHORIZER_ENVIRON_KEY] = authorizer
        return app(environ, start_response)

    return authorized
