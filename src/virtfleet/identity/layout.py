"""The embedded Keystone's directory: configuration, database, keys and passwords."""

from __future__ import annotations

import os
import pathlib
import secrets
from dataclasses import dataclass

ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
SERVICE_USER = "virtfleet"
SERVICE_PROJECT = "service"
DOMAIN = "Default"


def write_private(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from creation)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


@dataclass(frozen=True)
class KeystoneLayout:
    """Where one embedded Keystone keeps its state (``<data dir>/keystone``)."""

    root: pathlib.Path

    @classmethod
    def in_data_dir(cls, data_dir: pathlib.Path) -> KeystoneLayout:
        return cls(data_dir / "keystone")

    @property
    def config_file(self) -> pathlib.Path:
        return self.root / "keystone.conf"

    @property
    def database(self) -> pathlib.Path:
        return self.root / "keystone.db"

    @property
    def log_file(self) -> pathlib.Path:
        return self.root / "keystone.log"

    @property
    def bootstrapped_marker(self) -> pathlib.Path:
        """Written last by the bootstrap: its presence means the database is complete."""
        return self.root / "bootstrapped"

    @property
    def admin_password_file(self) -> pathlib.Path:
        return self.root / "admin-password"

    @property
    def service_password_file(self) -> pathlib.Path:
        return self.root / "service-password"

    def is_bootstrapped(self) -> bool:
        return self.bootstrapped_marker.exists()

    def admin_password(self) -> str:
        return self.admin_password_file.read_text().strip()

    def service_password(self) -> str:
        return self.service_password_file.read_text().strip()

    def make_passwords(self) -> None:
        """Generate the admin and service users' passwords (kept when present)."""
        for path in (self.admin_password_file, self.service_password_file):
            if not path.exists():
                write_private(path, secrets.token_urlsafe(24) + "\n")

    def render_config(self) -> str:
        """keystone.conf: SQLite database and key repositories in this directory."""
        return "\n".join(
            [
                "[DEFAULT]",
                f"log_file = {self.log_file}",
                "",
                "[database]",
                f"connection = sqlite:///{self.database}",
                "",
                "[token]",
                "provider = fernet",
                "",
                "[fernet_tokens]",
                f"key_repository = {self.root / 'fernet-keys'}",
                "",
                "[fernet_receipts]",
                f"key_repository = {self.root / 'fernet-receipts'}",
                "",
                "[credential]",
                f"key_repository = {self.root / 'credential-keys'}",
                "",
            ]
        )

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        write_private(self.config_file, self.render_config())
