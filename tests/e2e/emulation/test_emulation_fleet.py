"""Emulated guest architectures end to end on a simulated fleet, through the HTTP APIs:
host traits, image validation, prefilter, native-first scheduling, guest XML, faults."""

from __future__ import annotations

import dataclasses
import json

import pytest
from lxml import etree

from support import image_bytes
from support.emulation_cloud import ARM_ROOM, EmulationCloud, api_error, wait_until
from support.guest import with_guest_request
from virtfleet.scheduler.prefilters import request_constraints
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec


def domain_facts(xml: str) -> dict[str, str | None]:
    root = etree.fromstring(xml.encode())
    os_type = root.find("os/type")
    assert os_type is not None
    return {
        "type": root.get("type"),
        "arch": os_type.get("arch"),
        "machine": os_type.get("machine"),
        "emulator": root.findtext("devices/emulator"),
    }


def test_hosts_report_arch_traits_and_native_arches(emulation_cloud: EmulationCloud) -> None:
    cloud = emulation_cloud
    arch_traits = {
        host: {t for t in cloud.traits(host) if t.startswith(("HW_ARCH_", "COMPUTE_ARCH_"))}
        for host in ("x86-emu", "x86-plain", "arm")
    }
    assert arch_traits == {
        "x86-emu": {
            "HW_ARCH_X86_64", "HW_ARCH_I686", "COMPUTE_ARCH_X86_64",
            "COMPUTE_ARCH_AARCH64", "COMPUTE_ARCH_PPC64LE",
        },
        "x86-plain": {"HW_ARCH_X86_64", "HW_ARCH_I686", "COMPUTE_ARCH_X86_64"},
        "arm": {"HW_ARCH_AARCH64", "COMPUTE_ARCH_AARCH64", "COMPUTE_ARCH_X86_64"},
    }  # fmt: skip
    x86 = cloud.cpu_info("x86-emu")
    assert (x86["arch"], sorted(x86["native_arches"])) == ("x86_64", ["i686", "x86_64"])
    assert sorted(x86["emulated_arches"]) == ["aarch64", "ppc64le"]
    arm = cloud.cpu_info("arm")
    assert (arm["arch"], arm["native_arches"]) == ("aarch64", ["aarch64"])
    assert "x86_64" in arm["emulated_arches"]


def test_aarch64_lands_natively_while_there_is_room_then_emulated(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    image = cloud.image("arm-native-first", hw_emulation_architecture="aarch64")
    servers = [cloud.boot(image, flavor_id, f"arm-{i}") for i in range(ARM_ROOM + 1)]
    assert [s["status"] for s in servers] == ["ACTIVE"] * (ARM_ROOM + 1)
    landed = [s["OS-EXT-SRV-ATTR:host"] for s in servers]
    # native wins while it fits; x86-plain cannot run aarch64 at all
    assert landed == ["arm"] * ARM_ROOM + ["x86-emu"]
    native, emulated = (
        domain_facts(cloud.domain_xml(servers[0])),
        domain_facts(cloud.domain_xml(servers[-1])),
    )
    assert native == {
        "type": "kvm",
        "arch": "aarch64",
        "machine": "virt-8.2",  # libvirt shows the canonical machine
        "emulator": "/usr/bin/qemu-system-aarch64",
    }
    assert emulated == {**native, "type": "qemu"}


def test_architecture_and_emulation_architecture_require_both_traits(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    props = {"hw_architecture": "x86_64", "hw_emulation_architecture": "aarch64"}
    spec = with_guest_request(
        RequestSpec(
            instance_uuid="00000000-0000-4000-8000-000000000001",
            project_id="p",
            user_id="u",
            flavor=FlavorSpec(vcpus=1, memory_mb=1024, root_gb=1),
            image_properties=props,
        )
    )
    required = request_constraints(spec, cloud.control.conf).required_traits()
    assert {frozenset({"HW_ARCH_X86_64"}), frozenset({"COMPUTE_ARCH_AARCH64"})} <= set(required)
    # arm has room and runs aarch64 natively, but it is no x86_64 host; x86-plain is one
    # but cannot run aarch64: only x86-emu has both traits.
    server = cloud.boot(cloud.image("x86-host-arm-guest", **props), flavor_id)
    assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "x86-emu")
    assert domain_facts(cloud.domain_xml(server))["type"] == "qemu"


def test_i686_on_x86_64_stays_kvm(cloud: EmulationCloud, flavor_id: str) -> None:
    server = cloud.boot(cloud.image("i386-guest", hw_architecture="i386"), flavor_id)
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] in ("x86-emu", "x86-plain")
    assert domain_facts(cloud.domain_xml(server)) == {
        "type": "kvm",
        "arch": "i686",
        "machine": "pc-q35-8.2",
        "emulator": "/usr/bin/qemu-system-i386",
    }


def test_arch_no_host_offers_faults_naming_the_trait(cloud: EmulationCloud, flavor_id: str) -> None:
    server = cloud.boot(cloud.image("s390x-guest", hw_emulation_architecture="s390x"), flavor_id)
    assert server["status"] == "ERROR"
    assert "COMPUTE_ARCH_S390X" in server["fault"]["message"], server["fault"]


def test_emulation_arch_without_a_trait_is_a_400_at_boot(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    image = cloud.image("armv7-guest", hw_emulation_architecture="armhf")
    error = api_error(lambda: cloud.api.boot("armv7", flavor_id, image))
    assert error.status == 400
    assert "COMPUTE_ARCH_ARMV7L" in error.body and "aarch64" in error.body
    assert cloud.api.compute("GET", "/servers")["servers"] == []


@pytest.mark.parametrize(
    "properties",
    [
        {"hw_architecture": "sparc9"},
        {"hw_emulation_architecture": "Z80"},
    ],
)
def test_unknown_arch_is_a_400_at_image_create(
    emulation_cloud: EmulationCloud, properties: dict[str, str]
) -> None:
    error = api_error(lambda: emulation_cloud.image("bad-arch", **properties))
    assert error.status == 400
    ((prop, value),) = properties.items()
    message = json.loads(error.body)["message"]
    assert prop in message and repr(value) in message
    assert "aarch64" in message and "x86_64" in message and "riscv64" in message


def test_unknown_arch_is_a_400_at_image_update(emulation_cloud: EmulationCloud) -> None:
    api = emulation_cloud.api
    image = emulation_cloud.image("to-patch", hw_emulation_architecture="aarch64")
    patch = [{"op": "replace", "path": "/hw_emulation_architecture", "value": "vax"}]
    error = api_error(
        lambda: api.request(
            "PATCH",
            f"/image/v2/images/{image}",
            raw=json.dumps(patch).encode(),
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        )
    )
    assert error.status == 400 and "'vax'" in error.body
    shown = api.request("GET", f"/image/v2/images/{image}")
    assert shown["hw_emulation_architecture"] == "aarch64"


def test_machine_type_of_another_arch_is_refused_at_image_create(
    cloud: EmulationCloud,
) -> None:
    error = api_error(
        lambda: cloud.image(
            "arm-on-q35", hw_emulation_architecture="aarch64", hw_machine_type="q35"
        )
    )
    assert error.status == 400
    assert "hw_machine_type='q35'" in error.body and "for aarch64" in error.body, error.body
    assert "virt, virt-X.Y" in error.body


def test_known_machine_type_the_hosts_lack_fails_at_boot(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    # virt-99.0 is a valid aarch64 name (so the image is accepted) that no host's QEMU has
    image = cloud.image(
        "arm-future", hw_emulation_architecture="aarch64", hw_machine_type="virt-99.0"
    )
    server = cloud.boot(image, flavor_id)
    assert server["status"] == "ERROR"
    message = server["fault"]["message"]
    assert "do not offer machine type virt-99.0 for aarch64 (valid: " in message, message
    valid = message.split("(valid: ", 1)[1].split(")", 1)[0].split(", ")
    assert "virt" in valid and "virt-8.2" in valid and "virt-99.0" not in valid


def test_stale_traits_go_when_an_emulator_goes(
    emulation_cloud: EmulationCloud, flavor_id: str
) -> None:
    cloud = emulation_cloud
    hypervisor = cloud.hypervisor("x86-emu")
    original = hypervisor.profile
    try:
        hypervisor.profile = dataclasses.replace(original, emulators=("aarch64",))
        cloud.agent("x86-emu").refresh()
        traits = cloud.traits("x86-emu")
        assert "COMPUTE_ARCH_PPC64LE" not in traits
        assert {"COMPUTE_ARCH_AARCH64", "HW_ARCH_X86_64"} <= traits
        assert cloud.cpu_info("x86-emu")["emulated_arches"] == ["aarch64"]
        cloud.control.scheduler.hosts.invalidate()
        image = cloud.image("ppc-guest", hw_emulation_architecture="ppc64el")
        server = cloud.boot(image, flavor_id, "ppc")
        assert server["status"] == "ERROR"
        assert "COMPUTE_ARCH_PPC64LE" in server["fault"]["message"]
    finally:
        hypervisor.profile = original
        cloud.agent("x86-emu").refresh()
        cloud.delete_all_servers()
    assert "COMPUTE_ARCH_PPC64LE" in cloud.traits("x86-emu")  # back with its emulator


def test_emulated_guest_lifecycle(cloud: EmulationCloud, flavor_id: str) -> None:
    api = cloud.api
    props = {"hw_architecture": "x86_64", "hw_emulation_architecture": "s390x"}
    hypervisor = cloud.hypervisor("x86-emu")
    original = hypervisor.profile
    try:  # x86-emu gains an s390x emulator for this test
        hypervisor.profile = dataclasses.replace(original, emulators=(*original.emulators, "s390x"))
        cloud.agent("x86-emu").refresh()
        cloud.control.scheduler.hosts.invalidate()
        server = cloud.boot(cloud.image("s390x-life", **props), flavor_id, "s390x-life")
        assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "x86-emu")
        uuid, driver = server["id"], cloud.agent("x86-emu").driver

        def act(action: dict[str, object], status: str, power: str) -> None:
            api.compute("POST", f"/servers/{uuid}/action", action)
            wait_until(lambda: api.server(uuid)["status"] == status)
            assert driver.get_power_state(uuid) == power

        act({"os-stop": None}, "SHUTOFF", "shutoff")
        act({"os-start": None}, "ACTIVE", "running")
        act({"reboot": {"type": "HARD"}}, "ACTIVE", "running")
        xml = cloud.domain_xml(server)
        assert domain_facts(xml)["type"] == "qemu"
        console_target = etree.fromstring(xml.encode()).find("devices/console/target")
        assert console_target is not None and console_target.get("type") == "sclp"
        console = api.compute("POST", f"/servers/{uuid}/action", {"os-getConsoleOutput": {}})
        assert console == {"output": ""}  # a simulated guest prints nothing
        api.compute("DELETE", f"/servers/{uuid}")
        wait_until(lambda: uuid not in driver.list_instance_uuids())
    finally:
        cloud.delete_all_servers()
        hypervisor.profile = original
        cloud.agent("x86-emu").refresh()
    assert "COMPUTE_ARCH_S390X" not in cloud.traits("x86-emu")


def test_an_image_naming_no_arch_stays_on_hosts_of_the_arch_its_data_shows(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    """An aarch64 kernel uploaded without any arch property: the Image API infers
    ``architecture=aarch64`` and boots go only to native aarch64 hosts (the RAM weigher
    alone would pick x86-plain); with "arm" full there is no host (x86-emu emulates
    aarch64, but the image did not ask for emulation). An x86_64 one never lands on
    "arm", which can only emulate it."""
    api = cloud.api
    arm_image = api.create_image("inferred-arm", image_bytes.elf("aarch64"), {})
    shown = api.request("GET", f"/image/v2/images/{arm_image}")
    assert (shown["architecture"], shown["virtfleet_architecture_inferred_from"]) == (
        "aarch64",
        "elf",
    )
    servers = [cloud.boot(arm_image, flavor_id, f"inferred-arm-{i}") for i in range(ARM_ROOM)]
    assert [(s["status"], s["OS-EXT-SRV-ATTR:host"]) for s in servers] == [("ACTIVE", "arm")] * 2
    assert domain_facts(cloud.domain_xml(servers[0]))["arch"] == "aarch64"
    full = cloud.boot(arm_image, flavor_id, "inferred-arm-full")
    assert full["status"] == "ERROR" and "HW_ARCH_AARCH64" in full["fault"]["message"]
    x86_image = api.create_image("inferred-x86", image_bytes.elf("x86_64"), {})
    x86 = cloud.boot(x86_image, flavor_id, "inferred-x86")
    assert x86["status"] == "ACTIVE" and x86["OS-EXT-SRV-ATTR:host"] in ("x86-emu", "x86-plain")


def test_unreadable_data_takes_the_configured_default_arch(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    """Data inference cannot read: with [scheduler] image_properties_default_architecture
    the guest is of that arch and goes to its native hosts only."""
    image = cloud.image("unreadable")  # zeros: nothing to infer
    assert "architecture" not in cloud.api.request("GET", f"/image/v2/images/{image}")
    conf = cloud.control.conf
    conf.set_override("image_properties_default_architecture", "aarch64", group="scheduler")
    try:
        server = cloud.boot(image, flavor_id, "default-arch")
    finally:
        conf.clear_override("image_properties_default_architecture", group="scheduler")
    assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "arm")
    unset = cloud.boot(image, flavor_id, "host-arch")  # unset: the host's own, x86-plain wins
    assert (unset["status"], unset["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "x86-plain")
