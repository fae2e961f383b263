"""The image service: image records plus their data, with the Image API's rules
(writable attributes, JSON-patch updates, status transitions, property validation).

Known properties (``hw_*``, ``kernel_id`` …) are validated by the table in
:mod:`virtfleet.objects.image_properties`; unknown properties are kept.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from virtfleet import errors
from virtfleet.db import images
from virtfleet.db.engine import Database
from virtfleet.image import in_use
from virtfleet.image.arch_inference import infer_file as infer_architecture
from virtfleet.image.file_store import FileStore
from virtfleet.image.quota import ImageQuotas, UploadLimits, UploadReservation
from virtfleet.image.store import ImageStore
from virtfleet.image.web_download import WebDownload
from virtfleet.objects.image_properties import validate_image_properties
from virtfleet.virt.arch import canonicalize as canonicalize_arch
from virtfleet.virt.arch import check_machine_type

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")

# Attribute -> (type check, description) for the writable base attributes.
WRITABLE: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: v is None or (isinstance(v, str) and len(v) <= 255), "a string"),
    "visibility": (lambda v: v in VISIBILITIES, f"one of {', '.join(VISIBILITIES)}"),
    "protected": (lambda v: isinstance(v, bool), "a boolean"),
    "min_disk": (lambda v: _is_count(v), "an integer >= 0"),
    "min_ram": (lambda v: _is_count(v), "an integer >= 0"),
    "disk_format": (lambda v: v is None or v in DISK_FORMATS, f"one of {', '.join(DISK_FORMATS)}"),
    "container_format": (
        lambda v: v is None or v in CONTAINER_FORMATS,
        f"one of {', '.join(CONTAINER_FORMATS)}",
    ),
    "tags": (
        lambda v: isinstance(v, list) and all(isinstance(t, str) and 0 < len(t) < 256 for t in v),
        "a list of strings of 1 to 255 characters",
    ),
    "os_hidden": (lambda v: isinstance(v, bool), "a boolean"),
}
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "created_at",
        "updated_at",
        "owner",
        "file",
        "self",
        "schema",
        "direct_url",
        "locations",
        "stores",
    }
)
#: The image properties that name the guest architecture; an upload of an image with
#: none of them infers it from the data (:mod:`virtfleet.image.arch_inference`).
#: Names that are the Image API's own attributes, never properties.
ATTRIBUTES = frozenset({*WRITABLE, *READ_ONLY})
ARCH_PROPERTIES = ("hw_architecture", "hw_emulation_architecture", "architecture")
#: Set with ``architecture`` when it was inferred: what it was read from.
INFERRED_FROM_PROPERTY = "virtfleet_architecture_inferred_from"

LOG = logging.getLogger(__name__)

# Accepted and ignored.
IGNORED: frozenset[str] = frozenset()
#: The interoperable import methods: glance-direct always, web-download when
#: ``[image] web_download_allowed_hosts`` names a host (``ImageService.import_methods``).
GLANCE_DIRECT = "glance-direct"
WEB_DOWNLOAD = "web-download"
#: Glance's longest tag and most tags on one image (its image_tag_quota default).
MAX_TAG = 255
MAX_TAGS = 128


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Forbidden(errors.VirtfleetError):
    """The attribute or operation is not allowed (HTTP 403)."""


class ImageService:
    """Create, list, show, update, delete images and move their data."""

    def __init__(
        self,
        db: Database,
        store: ImageStore | str | pathlib.Path,
        canonicalize: Callable[[str], str] = canonicalize_arch,
        limits: UploadLimits | None = None,
        quotas: ImageQuotas | None = None,
        web: WebDownload | None = None,
    ) -> None:
        """``store`` is an ImageStore (:func:`virtfleet.image.backends.open_store`) or
        the directory of a ``file`` one; ``quotas`` the Keystone image limits (None:
        only ``limits``); ``web`` the URLs web-download may fetch (None: the method is
        off)."""
        self.db = db
        self.store = FileStore(store) if isinstance(store, (str, pathlib.Path)) else store
        self.canonicalize = canonicalize
        self.limits = limits or UploadLimits()
        self.quotas = quotas
        self.web = web or WebDownload()

    @property
    def import_methods(self) -> tuple[str, ...]:
        """The import methods enabled here, as ``/v2/info/import`` lists them."""
        return (GLANCE_DIRECT, WEB_DOWNLOAD) if self.web.enabled else (GLANCE_DIRECT,)

    # ------------------------------------------------------------------ records

    def create(self, body: Mapping[str, Any], owner: str | None = None) -> images.Image:
        """A queued image from an Image API create body."""
        image_id = body.get("id")
        if image_id is not None and not isinstance(image_id, str):
            raise errors.InvalidInput(f"Invalid id {image_id!r}: expected a string UUID.")
        columns, properties = self._split(body, creating=True)
        columns.setdefault("visibility", "shared")
        validated = self._validate_properties(properties, image_id)
        check = None
        if owner is not None and self.quotas is not None:
            check = self.quotas.image_create_check(owner)
        return images.create(
            self.db, image_id=image_id, admit=check, owner=owner, properties=validated, **columns
        )

    def get(self, image_id: str) -> images.Image:
        return images.get(self.db, image_id)

    def list(
        self,
        filters: Mapping[str, str] | None = None,
        limit: int | None = None,
        marker: str | None = None,
        visible: Callable[[images.Image], bool] | None = None,
    ) -> list[images.Image]:
        """Images matching every filter (base attributes, ``tag``, or properties) that
        ``visible`` lets the caller see, newest first, after ``marker``, at most ``limit``."""
        wanted = dict(filters or {})
        if "os_hidden" not in wanted:  # hidden images are listed only when asked for
            wanted["os_hidden"] = "false"
        result = [
            i
            for i in images.list_images(self.db)
            if _matches(i, wanted) and (visible is None or visible(i))
        ]
        if marker is not None:
            ids = [i.id for i in result]
            if marker not in ids:
                raise errors.InvalidInput(f"Invalid marker {marker}: no such image.")
            result = result[ids.index(marker) + 1 :]
        return result if limit is None else result[:limit]

    def update(self, image_id: str, patch: Sequence[Mapping[str, Any]]) -> images.Image:
        """Apply a JSON patch (``openstack-images-v2.1-json-patch``)."""
        image = images.get(self.db, image_id)
        document: dict[str, Any] = {name: getattr(image, name) for name in WRITABLE}
        document["tags"] = list(image.tags)
        document.update(image.properties)
        for operation in patch:
            _apply(document, operation)
        columns, properties = self._split(document, creating=False)
        validated = self._validate_properties(properties, image_id)
        return images.update(self.db, image_id, properties=validated, **columns)

    def delete(self, image_id: str) -> None:
        """Delete the image; its data stays while a server uses it (see
        :mod:`virtfleet.image.in_use`) and goes with the last such server."""
        image = images.get(self.db, image_id)
        if image.protected:
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        images.delete(self.db, image_id)
        if not in_use.in_use(self.db, [image_id]):
            self.store.delete(image_id)

    def staging_path(self, image_id: str) -> str:
        """Where a snapshot of image ``image_id`` is written before its upload (a
        local file of the store's, which the agent writing it must see)."""
        return str(self.store.staging_path(image_id))

    def release(self, image_ids: Iterable[str]) -> tuple[str, ...]:
        """Remove the data of deleted images among ``image_ids`` that no server uses
        any more (called when a server goes); returns the ids whose data went."""
        released = []
        deleted = {i for i in image_ids if self.store.exists(i) and not self._exists(i)}
        # Only deleted images are looked for among the servers (a scan of them all):
        # a delete burst of servers booted from a live image reads no server list.
        for image_id in sorted(deleted - in_use.in_use(self.db, deleted)):
            self.store.delete(image_id)
            released.append(image_id)
        return tuple(released)

    def _exists(self, image_id: str) -> bool:
        try:
            images.get(self.db, image_id)
        except errors.NotFound:
            return False
        return True

    # --------------------------------------------------------------------- data

    def upload(
        self,
        image_id: str,
        chunks: Iterable[bytes],
        declared_size: int | None = None,
        final_status: str = "active",
        busy_status: str = "saving",
    ) -> images.Image:
        """Store the data of a queued image; it becomes active. ``TooLarge`` /
        ``OverQuota`` (before reading anything when ``declared_size`` says so) past the
        size cap or one of the owner's storage quotas (:mod:`virtfleet.image.quota`)."""
        image = images.get(self.db, image_id)
        if image.status != "queued":
            raise errors.Conflict(
                f"Image {image_id} is {image.status}; data can only be uploaded to a queued image."
            )
        reservation = UploadReservation(self.db, image, self.limits, self.quotas)
        if declared_size is not None:
            reservation.need(declared_size)
        images.update(self.db, image_id, status=busy_status)
        try:
            stored = self.store.write(image_id, reservation.bounded(chunks))
        except BaseException:
            images.update(self.db, image_id, status="queued", reserved=None)
            raise
        return images.update(
            self.db,
            image_id,
            status=final_status,
            properties=self._with_inferred_arch(image),
            size=stored.size,
            checksum=stored.checksum,
            os_hash_algo=stored.os_hash_algo,
            os_hash_value=stored.os_hash_value,
            reserved=None,
        )

    def stage(
        self, image_id: str, chunks: Iterable[bytes], declared_size: int | None = None
    ) -> images.Image:
        """glance-direct's first step: the data is stored and checked as an upload's
        is (caps, quotas, digests); the image stays ``uploading`` until imported."""
        return self.upload(image_id, chunks, declared_size, final_status="uploading")

    def finish_import(self, image_id: str) -> images.Image:
        """glance-direct's second step: a staged image becomes active (Conflict, in
        Glance's words, for an image that is not ``uploading``)."""
        image = self._importable(image_id)
        if image.status != "uploading":
            raise errors.Conflict(
                "Image needs to be staged before 'glance-direct' method can be used"
            )
        return images.update(self.db, image_id, status="active")

    def web_download(self, image_id: str, uri: Any) -> images.Image:
        """web-download: the data of the allowed ``uri`` stored as an upload's is
        (caps, quotas, digests); the image is ``importing`` meanwhile and ``queued``
        again when the fetch fails."""
        image = self._importable(image_id)
        if image.status != "queued":
            raise errors.Conflict(
                "Image needs to be in 'queued' state to use 'web-download' method"
            )
        with self.web.open(self.web.check(uri)) as fetched:
            return self.upload(image_id, fetched.chunks(), fetched.size, busy_status="importing")

    def _importable(self, image_id: str) -> images.Image:
        """The image, Conflict (Glance's words) when it cannot take an import."""
        image = images.get(self.db, image_id)
        if image.status == "active":
            raise errors.Conflict("Image with status active cannot be target for import")
        if not image.container_format or not image.disk_format:
            missing = "container_format" if not image.container_format else "disk_format"
            raise errors.Conflict(f"'{missing}' needs to be set before import")
        return image

    def add_tag(self, image_id: str, tag: str) -> images.Image:
        """Tag the image (a tag it has already is kept once)."""
        if not tag or len(tag) > MAX_TAG:
            raise errors.InvalidInput(f"Invalid tag {tag!r}: 1 to {MAX_TAG} characters.")
        image = images.get(self.db, image_id)
        if tag in image.tags:
            return image
        if len(image.tags) >= MAX_TAGS:
            raise errors.TooLarge(
                f"Image {image_id} has {len(image.tags)} tags; an image may have at most "
                f"{MAX_TAGS} (as Glance's image_tag_quota). Attempted: "
                f"{len(image.tags) + 1}, Maximum: {MAX_TAGS}"
            )
        return images.update(self.db, image_id, tags=[*image.tags, tag])

    def delete_tag(self, image_id: str, tag: str) -> images.Image:
        """Remove a tag; NotFound when the image does not have it."""
        image = images.get(self.db, image_id)
        if tag not in image.tags:
            raise errors.NotFound(f"Tag {tag} not found on image {image_id}.")
        return images.update(self.db, image_id, tags=[t for t in image.tags if t != tag])

    def has_data(self, image_id: str) -> bool:
        """Whether the store holds the image's data."""
        return self.store.exists(image_id)

    def download(self, image_id: str) -> tuple[images.Image, Iterator[bytes] | None]:
        """The image and its data (None when it has no data)."""
        image = images.get(self.db, image_id)
        if image.status != "active":
            return image, None
        return image, self.store.read(image_id)

    # ------------------------------------------------------------------ helpers

    def _with_inferred_arch(self, image: images.Image) -> dict[str, str]:
        """The image's properties, with ``architecture`` (and where it was read) when
        none names the arch and the just-stored data tells it; a log line either way."""
        properties = dict(image.properties)
        if any(properties.get(name) for name in ARCH_PROPERTIES):
            return properties
        with self.store.open(image.id) as (data, size):
            found = infer_architecture(data, size)
        if found.arch is None or found.source is None:
            LOG.info(
                "Image %s: guest architecture not inferred from its data (%s); boots "
                "use [scheduler] image_properties_default_architecture",
                image.id,
                found.reason,
            )
            return properties
        LOG.info(
            "Image %s: guest architecture %s inferred from %s", image.id, found.arch, found.source
        )
        return {**properties, "architecture": found.arch, INFERRED_FROM_PROPERTY: found.source}

    def _split(
        self, body: Mapping[str, Any], creating: bool
    ) -> tuple[dict[str, Any], dict[str, object]]:
        columns: dict[str, Any] = {}
        properties: dict[str, object] = {}
        for name, value in body.items():
            if name in IGNORED or (name == "id" and creating):
                continue
            if name in READ_ONLY:
                raise Forbidden(f"Attribute '{name}' is read-only.")
            check = WRITABLE.get(name)
            if check is None:
                if not isinstance(value, str):
                    raise errors.InvalidInput(
                        f"Invalid value for property {name!r}: {value!r} is not a string."
                    )
                properties[name] = value
                continue
            is_valid, expected = check
            if not is_valid(value):
                raise errors.InvalidInput(
                    f"Invalid value for {name!r}: {value!r}; expected {expected}."
                )
            if name == "tags" and len(set(value)) > MAX_TAGS:
                raise errors.TooLarge(
                    f"An image may have at most {MAX_TAGS} tags (as Glance's image_tag_quota). "
                    f"Attempted: {len(set(value))}, Maximum: {MAX_TAGS}"
                )
            columns[name] = value
        return columns, properties

    def _validate_properties(
        self, properties: Mapping[str, object], image_id: str | None
    ) -> dict[str, str]:
        def image_exists(other: str) -> bool:
            return other != image_id and images.exists(self.db, other)

        validated = validate_image_properties(
            properties, self.canonicalize, image_exists, check_machine_type
        )
        return {key: str(value) for key, value in validated.items()}


def _matches(image: images.Image, filters: Mapping[str, str]) -> bool:
    """Every filter matches: ``in:a,b`` for any of several values, ``tag`` for a tag,
    ``os_hidden`` (true: hidden images only), else a base attribute or a property."""
    for key, wanted in filters.items():
        choices = {
            w.lower() for w in (wanted[3:].split(",") if wanted.startswith("in:") else [wanted])
        }
        if key == "tag":
            if not {t.lower() for t in image.tags} & choices:
                return False
            continue
        if key == "os_hidden":
            if not choices <= {"true", "false"}:
                raise errors.InvalidInput(
                    f"Invalid value '{wanted}' for 'os_hidden' filter. "
                    "Valid values are 'true' or 'false'."
                )
            if str(image.os_hidden).lower() not in choices:
                return False
            continue
        actual = getattr(image, key, None) if key in images.COLUMNS or key == "id" else None
        if actual is None:
            actual = image.properties.get(key)
        if actual is None or str(actual).lower() not in choices:
            return False
    return True


def _patch_tag(tags: list[str], op: str, segment: str, operation: Mapping[str, Any]) -> list[str]:
    """One operation on ``/tags/<x>``. As RFC 6902 reads it (what openstacksdk's diffs
    send), ``x`` is an index or ``-`` and an add carries the tag as its value; an add
    without a string value takes ``x`` as the tag's name. Tags stay a set."""
    if op == "remove":
        if segment.isdigit() and int(segment) < len(tags):
            return tags[: int(segment)] + tags[int(segment) + 1 :]
        if segment not in tags:
            raise errors.NotFound(f"Tag {segment} not found.")
        return [t for t in tags if t != segment]
    value = operation.get("value")
    tag = value if isinstance(value, str) else segment
    return tags if tag in tags else [*tags, tag]


def _apply(document: dict[str, Any], operation: Mapping[str, Any]) -> None:
    """Apply one JSON-patch operation to the flat image document."""
    if not isinstance(operation, Mapping):
        raise errors.InvalidInput(
            f"Invalid JSON patch operation {operation!r}: expected an object."
        )
    op = operation.get("op")
    path = operation.get("path")
    if op not in ("add", "replace", "remove"):
        raise errors.InvalidInput(f"Invalid JSON patch op {op!r}: expected add, replace or remove.")
    if not isinstance(path, str) or not path.startswith("/") or len(path) < 2:
        raise errors.InvalidInput(f"Invalid JSON patch path {path!r}: expected '/<attribute>'.")
    segments = [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]
    name = segments[0]
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name == "tags" and len(segments) == 2:
        document["tags"] = _patch_tag(list(document.get("tags") or []), op, segments[1], operation)
        return
    if len(segments) != 1:
        raise errors.InvalidInput(
            f"Invalid JSON patch path {path!r}: nested paths are not supported."
        )
    if op == "remove":
        if name in WRITABLE:
            raise Forbidden(f"Attribute '{name}' cannot be removed.")
        if name not in document:
            raise errors.Conflict(f"Property {name} does not exist.")
        del document[name]
        return
    if "value" not in operation:
        raise errors.InvalidInput(f"JSON patch operation {op} on {path} needs a 'value'.")
    if op == "replace" and name not in document:
        raise errors.Conflict(f"Property {name} does not exist; use add.")
    document[name] = operation["value"]
