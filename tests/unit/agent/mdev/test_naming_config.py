"""Traits, provider names/uuids and which type a GPU serves."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent.mdev import config, naming
from virtfleet.conductor.provider_tree import child_uuid
from virtfleet.db.hosts import host_uuid


@pytest.mark.parametrize(
    ("type_id", "trait"),
    [
        ("nvidia-222", "CUSTOM_MDEV_NVIDIA_222"),
        ("i915-GVTg_V5_4", "CUSTOM_MDEV_I915_GVTG_V5_4"),
        ("mtty.1", "CUSTOM_MDEV_MTTY_1"),
    ],
)
def test_type_trait_is_a_valid_custom_trait(type_id: str, trait: str) -> None:
    assert naming.type_trait(type_id) == trait


def test_gpu_provider_uuid_is_the_one_host_reporting_derives() -> None:
    name = naming.gpu_provider_name("vgpu-1", "pci_0000_3b_00_0")
    assert name == "vgpu-1_pci_0000_3b_00_0"
    assert naming.gpu_provider_uuid("vgpu-1", "pci_0000_3b_00_0") == child_uuid(
        host_uuid("vgpu-1"), name
    )
    assert naming.gpu_provider_uuid("vgpu-1", "pci_0000_3b_00_0") != naming.gpu_provider_uuid(
        "vgpu-2", "pci_0000_3b_00_0"
    )


def conf_with(types: list[str], **addresses: list[str]) -> cfg.ConfigOpts:
    conf = vconf.make_conf(devices__enabled_mdev_types=types)
    for type_id, values in addresses.items():
        type_id = type_id.replace("_", "-")
        config.device_addresses(conf, type_id)  # registers the group
        conf.set_override("device_addresses", values, group=config.type_group(type_id))
    return conf


def test_first_enabled_type_the_gpu_offers_wins() -> None:
    conf = conf_with(["nvidia-11", "nvidia-222"])
    assert config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-222", "nvidia-11"]) == "nvidia-11"
    assert config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-999"]) is None


def test_device_addresses_bind_a_type_to_named_gpus_only() -> None:
    conf = conf_with(["nvidia-11", "nvidia-222"], nvidia_222=["0000:AF:00.0"])
    assert config.type_for_gpu(conf, "0000:af:00.0", ["nvidia-11", "nvidia-222"]) == "nvidia-222"
    # nvidia-222 is limited to af:00.0, so 3b:00.0 falls back to nvidia-11
    assert config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-11", "nvidia-222"]) == "nvidia-11"
    assert config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-222"]) is None


def test_a_gpu_named_by_two_types_or_lacking_its_type_is_a_config_error() -> None:
    conf = conf_with(["nvidia-11", "nvidia-222"], nvidia_11=["0000:3b:00.0"],
                     nvidia_222=["0000:3b:00.0"])  # fmt: skip
    with pytest.raises(errors.ConfigError, match="several mdev types: nvidia-11, nvidia-222"):
        config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-11", "nvidia-222"])
    conf = conf_with(["nvidia-222"], nvidia_222=["0000:3b:00.0"])
    with pytest.raises(errors.ConfigError, match="does not offer mdev type nvidia-222"):
        config.type_for_gpu(conf, "0000:3b:00.0", ["nvidia-11"])
