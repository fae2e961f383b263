"""The ``web-download`` import method: image data fetched from a URL the operator allows
(``[image] web_download_allowed_hosts``; none by default, and then the method is off).

Only http and https URLs whose host is on the list are fetched, directly (no proxy
from the environment); a redirect is not followed (its target was not checked), so it
fails the import like any other answer than 200. Refusals name the URL as Glance's
import URI filtering does."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from virtfleet import errors

SCHEMES = ("http", "https")
CHUNK = 64 * 1024


class FetchFailed(errors.InvalidInput):
    """The allowed URL did not give the data (unreachable, an error status, a redirect,
    a timeout); the image stays queued."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


@dataclass(frozen=True)
class WebDownload:
    """Which URLs ``web-download`` may fetch, and how long it waits for them."""

    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 60.0

    @property
    def enabled(self) -> bool:
        return bool(self.allowed_hosts)

    def check(self, uri: Any) -> str:
        """``uri`` if the filter lets it through; InvalidInput naming it otherwise."""
        refused = f"URI for web-download does not pass filtering: {uri}"
        if not isinstance(uri, str) or not uri:
            raise errors.InvalidInput(f"{refused} (a web-download import needs method.uri).")
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme not in SCHEMES:
            raise errors.InvalidInput(f"{refused} (scheme must be one of {', '.join(SCHEMES)}).")
        try:
            parsed.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError as exc:
            raise errors.InvalidInput(f"{refused} ({exc}).") from exc
        host = (parsed.hostname or "").lower()
        if host not in {h.lower() for h in self.allowed_hosts}:
            raise errors.InvalidInput(
                f"{refused} (host {host or 'missing'} is not in [image] "
                "web_download_allowed_hosts)."
            )
        return uri

    def open(self, uri: str) -> Fetched:
        """The answer of ``uri`` (close it, or use it in a ``with``); FetchFailed when
        the URL does not answer 200."""
        # No proxy from the environment (http_proxy): the fetch goes to the allowed
        # host itself, never through a machine the filter did not name.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        try:
            response: http.client.HTTPResponse = opener.open(uri, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise FetchFailed(
                f"web-download of {uri} failed: HTTP {exc.code} {exc.reason}."
            ) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchFailed(f"web-download of {uri} failed: {reason}.") from exc
        return Fetched(uri, response)


@dataclass
class Fetched:
    """An open answer to a web-download: the size it declares and its body."""

    uri: str
    response: http.client.HTTPResponse

    @property
    def size(self) -> int | None:
        """The Content-Length the answer declares (None when it declares none)."""
        length = self.response.headers.get("Content-Length")
        return int(length) if length and length.isdigit() else None

    def chunks(self) -> Iterator[bytes]:
        """The body in chunks; FetchFailed when the connection fails midway."""
        while True:
            try:
                chunk = self.response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise FetchFailed(
                    f"web-download of {self.uri} failed while reading: {exc!r}."
                ) from exc
            if not chunk:
                return
            yield chunk

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc: object) -> None:
        self.response.close()
