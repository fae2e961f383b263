"""Authorization with oslo.policy: secure-RBAC defaults as Nova, Glance and Placement
have them (project reader / member, admin, service), overridable by a policy file.

:mod:`.personas` holds the base rules the others are written in; :mod:`.compute`,
:mod:`.image`, :mod:`.network` and :mod:`.placement` the rules of each API, named as in
Nova, Glance, Neutron and Placement, :mod:`.dashboard` those of the web dashboard;
:mod:`.enforcer` builds the enforcer and turns a refusal into a 403;
:mod:`.context` is the request context the rules are checked against.
"""

from __future__ import annotations

import itertools

from oslo_policy import policy

from virtfleet.api.policy import compute, dashboard, image, metrics, network, personas, placement


def list_rules() -> list[policy.RuleDefault]:
    """Every rule with its default (the ``oslo.policy.policies`` entry point)."""
    return list(
        itertools.chain(
            personas.RULES,
            compute.RULES,
            image.RULES,
            network.RULES,
            placement.RULES,
            dashboard.RULES,
            metrics.RULES,
        )
    )
