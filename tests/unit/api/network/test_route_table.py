"""The Networking API's route table: every row has a documented handler, a
Neutron-style policy rule, and is reachable."""

from __future__ import annotations

import re

from support.route_tables import check_route_table
from virtfleet.api.network.routes import ROUTES

NEUTRON_RULE = re.compile(r"[a-z]+(_[a-z]+)+")


def test_every_route_has_a_handler_a_policy_and_is_reachable() -> None:
    check_route_table(ROUTES, NEUTRON_RULE)
