"""[scheduler] image_properties_default_architecture offers exactly the known arches."""

from __future__ import annotations

import pathlib

import pytest

from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.conf.scheduler import ARCH_NAMES
from virtfleet.virt.arch import ARCHES


def test_the_choices_are_the_arch_tables_names() -> None:
    assert list(ARCH_NAMES) == list(ARCHES)


def test_a_default_arch_outside_the_table_fails_at_start(tmp_path: pathlib.Path) -> None:
    assert make_conf().scheduler.image_properties_default_architecture is None
    conf = make_conf(scheduler__image_properties_default_architecture="aarch64")
    assert conf.scheduler.image_properties_default_architecture == "aarch64"
    conf_file = tmp_path / "virtfleet.conf"
    conf_file.write_text("[scheduler]\nimage_properties_default_architecture = vax\n")
    with pytest.raises(errors.ConfigError) as raised:
        make_conf(config_files=[str(conf_file)])
    assert "image_properties_default_architecture" in str(raised.value)
    assert "vax" in str(raised.value)
