"""The token cache that ``auth_token`` uses when no memcached is configured.

keystonemiddleware's own in-process cache is deprecated (it warns at the first
request): it never forgets an entry before it expires, and scans all of them on every
lookup. This one is handed to it through the WSGI environment (its ``cache`` option,
the key :data:`ENVIRON_KEY`) and offers the two memcached calls it makes, ``get`` and
``set`` with an expiry; it holds at most ``max_entries`` (the least recently used go
first) and forgets an entry when it is read after its expiry. Each API process has its
own, as with the deprecated one; ``[keystone_authtoken] memcached_servers`` replaces it
with a shared memcached.
"""

from __future__ import annotations

import collections
import threading
import time

ENVIRON_KEY = "virtfleet.token_cache"
#: Validated tokens kept: thousands of users each holding a token or two.
MAX_ENTRIES = 10_000


class TokenCache:
    """A bounded in-memory cache with memcached's ``get``/``set`` (thread-safe)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: collections.OrderedDict[str, tuple[float, object]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, key: str) -> object:
        """The value of ``key``, or None when absent or expired."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, value = found
            if expires and _now() >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: object, time: float = 0, min_compress_len: int = 0) -> bool:
        """Keep ``value`` for ``time`` seconds (0: until evicted), as memcached's ``set``
        (whose argument names auth_token uses)."""
        expires = _now() + time if time else 0.0
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return True

    def size(self) -> int:
        """How many entries it holds (no ``__len__``: auth_token takes an empty cache
        for no cache at all)."""
        return len(self._entries)


def _now() -> float:
    return time.monotonic()
