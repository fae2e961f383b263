"""[libvirt]: how the agent talks to its hypervisor and what guests look like."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "libvirt"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection_uri",
        default="qemu:///system",
        help="libvirt URI of this agent's hypervisor, e.g. qemu:///system or "
        "qemu+unix:///system?socket=/path. 'sim://HOST' selects a simulated host "
        "from the fleet file.",
    ),
    cfg.StrOpt(
        "virt_type",
        default="kvm",
        choices=["kvm", "qemu"],
        help="Domain type for guests of the host's native architecture. Guests of "
        "other architectures always use 'qemu' (TCG).",
    ),
    cfg.StrOpt(
        "cpu_mode",
        default=None,
        choices=["host-model", "host-passthrough", "custom", "none"],
        help="Guest CPU mode for native KVM guests. Default: host-model under kvm, "
        "a named model under qemu.",
    ),
    cfg.ListOpt("cpu_models", default=[], help="CPU models to use when cpu_mode=custom."),
    cfg.MultiStrOpt(
        "slice_spec",
        default=[],
        help="One slice per line, a JSON object: "
        '{"name": ..., "resource_class": "CUSTOM_...", "template_file": ..., '
        '"conflict_parent": ...}. Repeat the option for each slice.',
    ),
    cfg.StrOpt(
        "instances_path",
        default=None,
        help="Directory for instance files (disks, console logs). Default: <data_dir>/instances.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
