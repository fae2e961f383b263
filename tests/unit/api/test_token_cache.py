"""The token cache handed to ``auth_token``: memcached's get/set with expiry, bounded,
and used instead of keystonemiddleware's deprecated in-process cache (no warning)."""

from __future__ import annotations

import logging

import pytest
import webob

from virtfleet import conf as vconf
from virtfleet.api import auth, token_cache
from virtfleet.api.token_cache import TokenCache
from virtfleet.identity.authtoken import use_keystone

KEYSTONE = "http://192.0.2.1:5000/v3"  # never reached: only anonymous requests here


def test_values_are_kept_until_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(token_cache, "_now", lambda: now[0])
    cache = TokenCache()
    assert cache.set("a", "token a", time=300) is True
    cache.set("b", "token b")  # no expiry: kept until evicted
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("token a", "token b", None)
    now[0] += 300
    assert cache.get("a") is None and cache.size() == 1  # read after expiry: forgotten
    assert cache.get("b") == "token b"


def test_it_holds_at_most_max_entries_least_recently_used_first() -> None:
    cache = TokenCache(max_entries=2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.set("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), cache.size()) == (1, None, 3, 2)


def _seen(environ: dict[str, object], start_response: object) -> list[bytes]:
    raise AssertionError("an anonymous request reached the API")


def test_auth_token_uses_it_instead_of_its_deprecated_cache(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conf = vconf.make_conf()
    use_keystone(conf, KEYSTONE, "secret")
    gate = auth.AuthGate(_seen, conf)  # type: ignore[arg-type]  # never called
    assert isinstance(gate.token_cache, TokenCache)
    req = webob.Request.blank("/compute/v2.1/servers")
    with caplog.at_level(logging.WARNING):
        reply = req.get_response(gate)
    assert reply.status_int == 401
    assert req.environ[token_cache.ENVIRON_KEY] is gate.token_cache
    assert "in-process token cache" not in caplog.text


def test_a_configured_memcached_replaces_it() -> None:
    conf = vconf.make_conf()
    use_keystone(conf, KEYSTONE, "secret")
    conf.set_override("memcached_servers", ["192.0.2.1:11211"], group="keystone_authtoken")
    assert auth.AuthGate(_seen, conf).token_cache is None  # type: ignore[arg-type]
