"""The unauthenticated test mode exists only when asked for, and says so loudly."""

from __future__ import annotations

import logging
import pathlib

import pytest

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.api import auth


def app(environ: dict[str, object], start_response: object) -> list[bytes]:
    return [b"served"]


def test_keystone_is_the_default() -> None:
    conf = vconf.make_conf()
    assert conf.api.auth_strategy == "keystone"
    assert isinstance(auth.protect(app, conf), auth.AuthGate)


def test_noauth_is_explicit_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    conf = vconf.make_conf(api__auth_strategy="noauth")
    with caplog.at_level(logging.WARNING, logger="virtfleet.api.auth"):
        assert auth.protect(app, conf) is app
    assert "do NOT authenticate" in caplog.text


def test_an_unknown_strategy_is_refused_naming_the_option(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "virtfleet.conf"
    config.write_text("[api]\nauth_strategy = trust-me\n")
    with pytest.raises(errors.ConfigError, match=r"\[api\] auth_strategy.*trust-me"):
        vconf.make_conf(config_files=[str(config)])


def test_a_server_without_keystone_settings_refuses_to_start() -> None:
    from virtfleet.server_process import check_keystone_settings

    with pytest.raises(errors.ConfigError, match=r"\[keystone_authtoken\] auth_type is not set"):
        check_keystone_settings(vconf.make_conf())
    check_keystone_settings(vconf.make_conf(api__auth_strategy="noauth"))
    check_keystone_settings(vconf.make_conf(keystone_authtoken__auth_type="password"))
