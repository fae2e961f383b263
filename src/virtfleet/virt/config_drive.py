"""The config drive on the host: an ISO 9660 volume (Joliet and Rock Ridge names)
labelled ``config-2`` holding the files the control plane built for the guest
(:func:`virtfleet.servers.instance_data.config_drive_files`), written into the
instance directory before the guest starts, and read back for tests and the
simulator."""

from __future__ import annotations

import base64
import io
import os
import pathlib
from collections.abc import Mapping

import pycdlib

from virtfleet import errors

LABEL = "config-2"
FILE_NAME = "disk.config"


def decode_files(encoded: Mapping[str, str]) -> dict[str, bytes]:
    """The files as the RPC carries them (base64 text by path) -> bytes by path."""
    return {path: base64.b64decode(text) for path, text in encoded.items()}


def path_in(instance_dir: str) -> str:
    """Where the config drive of the instance in ``instance_dir`` lives."""
    return os.path.join(instance_dir, FILE_NAME)


def _directories(paths: list[str]) -> list[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return sorted(found, key=lambda d: (d.count("/"), d))


def _check_path(path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise errors.InvalidInput(f"config drive file path {path!r} is not a relative path")


def write(path: str, files: Mapping[str, bytes]) -> None:
    """Write the ISO with ``files`` (relative path -> content) to ``path``, atomically
    (a half-written drive is never left under the final name)."""
    for name in files:
        _check_path(name)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident=LABEL)
    try:
        for directory in _directories(list(files)):
            iso.add_directory(
                f"/{directory}", rr_name=directory.rsplit("/", 1)[-1], joliet_path=f"/{directory}"
            )
        for name in sorted(files):
            content = files[name]
            iso.add_fp(
                io.BytesIO(content),
                len(content),
                f"/{name}",
                rr_name=name.rsplit("/", 1)[-1],
                joliet_path=f"/{name}",
            )
        target = pathlib.Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        iso.write(str(partial))
        partial.replace(target)
    except pycdlib.pycdlibexception.PyCdlibException as exc:
        raise errors.InvalidInput(f"cannot build the config drive {path}: {exc}") from None
    finally:
        iso.close()


def read(path: str) -> tuple[str, dict[str, bytes]]:
    """The volume label and every file (by Rock Ridge path) of the ISO at ``path``."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open(path)
    except (OSError, pycdlib.pycdlibexception.PyCdlibException) as exc:
        raise errors.NotFound(f"no readable config drive at {path}: {exc}") from None
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        files: dict[str, bytes] = {}
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                full = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=full)
                files[full.lstrip("/")] = out.getvalue()
        return label, files
    finally:
        iso.close()


def remove(instance_dir: str) -> None:
    """Remove the instance's config drive (nothing when there is none)."""
    pathlib.Path(path_in(instance_dir)).unlink(missing_ok=True)
