"""Whether an answer shows the server's admin password, as Nova's
``[api] enable_instance_password`` decides it.

The create server, rebuild, evacuate (before 2.14) and rescue answers carry
``adminPass`` (the one given, or a generated one) only while the option is true (its
default); with it false the key is left out of the answer. virtfleet never injects
the password into a guest's disk (Nova's ``[libvirt] inject_password`` false, its
default); a guest gets it from the metadata service or config drive.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg


def shows_admin_pass(conf: cfg.ConfigOpts | None) -> bool:
    """Whether answers carry ``adminPass`` (no configuration: the default, true)."""
    return conf is None or bool(conf.api.enable_instance_password)


def with_admin_pass(
    conf: cfg.ConfigOpts | None, body: dict[str, Any], password: str | None
) -> dict[str, Any]:
    """``body`` with ``adminPass`` set to ``password`` when answers show it, else as
    it is."""
    if shows_admin_pass(conf):
        body["adminPass"] = password
    return body
