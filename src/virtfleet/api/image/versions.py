"""Image API versions: the one list of the versions the version documents advertise,
newest first, each with a one-line comment on what it changes in what virtfleet serves
(images, image data, schemas). The Image API has no microversion header: a client
picks a version from the documents and every path is under ``/v2``."""

from __future__ import annotations

VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.9", "nothing virtfleet serves changes (CURRENT: the version clients pick)"),
    ("2.8", "/v2/info/stores lists the one store (file)"),
    ("2.7", "image: os_hidden (hidden images listed only when asked for), os_hash_* shown"),
    ("2.6", "import: /v2/info/import, stage, glance-direct, web-download (allowed hosts)"),
    ("2.5", "nothing virtfleet serves changes"),
    ("2.4", "nothing virtfleet serves changes"),
    ("2.3", "nothing virtfleet serves changes"),
    ("2.2", "nothing virtfleet serves changes"),
    ("2.1", "nothing virtfleet serves changes"),
    ("2.0", "images (create, list, show, JSON-patch update, delete), data, schemas"),
)
