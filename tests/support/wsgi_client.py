"""The HTTP verb shortcuts of the tests' small WSGI clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

ReplyT = TypeVar("ReplyT")


class RequestVerbs(Generic[ReplyT]):
    """``get``/``post``/``put``/``patch``/``delete`` over the client's own
    ``request(method, path, body, **options)``."""

    request: Callable[..., ReplyT]

    def get(self, path: str, **kw: Any) -> ReplyT:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> ReplyT:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> ReplyT:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> ReplyT:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> ReplyT:
        return self.request("DELETE", path, **kw)
