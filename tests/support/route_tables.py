"""Checks every API's route table must pass: each row has a documented handler that
takes the row's path parameters, a policy rule name in the API's style, no duplicate,
and is reachable (no earlier row shadows it)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence

import webob

from virtfleet.api.wsgi import HTTPError, Request, Route, Router, json_response


def _render(req: Request, error: HTTPError) -> webob.Response:
    return json_response({"message": error.message}, error.status)


def sample_path(template: str) -> str:
    """The template with every ``{param}`` replaced by a sample value."""
    return re.sub(r"\{(\w+)\}", lambda m: f"sample-{m[1]}", template)


def check_route_table(routes: Sequence[Route], policy: re.Pattern[str]) -> None:
    """Fail naming the first row that breaks a rule of the route table."""
    seen: set[tuple[str, str]] = set()
    router = Router(routes, _render)
    for route in routes:
        row = f"{route.method} {route.path}"
        assert (route.method, route.path) not in seen, f"duplicate route {row}"
        seen.add((route.method, route.path))
        assert callable(route.handler) and route.handler.__doc__, f"{row}: no documented handler"
        assert policy.fullmatch(route.policy), f"{row}: policy {route.policy!r} not in style"
        params = re.findall(r"\{(\w+)\}", route.path)
        signature = inspect.signature(route.handler)
        signature.bind("deps", "req", **dict.fromkeys(params, "x"))  # TypeError if not
        found, values = router.match(route.method, sample_path(route.path))
        assert found == route, f"{row} is shadowed by {found.method} {found.path}"
        assert values == {p: f"sample-{p}" for p in params}
