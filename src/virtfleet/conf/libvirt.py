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
        "kvm_unusable",
        default="fallback",
        choices=["fallback", "refuse"],
        help="With virt_type = kvm, the agent first starts a tiny paused KVM guest. "
        "When KVM cannot run it (e.g. nested KVM that QEMU cannot drive): 'fallback' "
        "runs this host's guests under TCG with a warning; 'refuse' stops the agent "
        "with the reason.",
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
    cfg.FloatOpt(
        "spawn_settle_seconds",
        default=1.0,
        min=0,
        help="Seconds a new guest must keep running after libvirt started it before the "
        "boot counts as done. A guest that stops sooner (firmware finds nothing to boot, "
        "the kernel panics) fails the boot: the server goes to ERROR with libvirt's "
        "reason and the last console lines, and nothing is left on the host. 0 turns "
        "the check off (simulated hosts default to 0).",
    ),
    cfg.StrOpt(
        "live_migration_uri",
        default=None,
        help="libvirt URI other hosts' daemons use to reach this host as a live "
        "migration destination (peer to peer), e.g. qemu+tcp://%s/system ('%s' is "
        "replaced by this host's name). Default: connection_uri, which only works "
        "when every host's daemon can open it (hosts on one machine).",
    ),
    cfg.StrOpt(
        "live_migration_socket_dir",
        default=None,
        help="When set, QEMU streams incoming migrations over a unix socket in this "
        "directory (seen by both hosts' QEMUs) instead of the TCP address libvirt picks.",
    ),
    cfg.IntOpt(
        "live_migration_bandwidth",
        default=0,
        min=0,
        help="Maximum live migration bandwidth in MiB/s (0: no limit).",
    ),
    cfg.IntOpt(
        "live_migration_timeout",
        default=1800,
        min=1,
        help="Seconds a live migration may run before the conductor aborts it.",
    ),
    cfg.FloatOpt(
        "live_migration_progress_interval",
        default=0.5,
        min=0.01,
        help="Seconds between two progress reads of a running live migration.",
    ),
    cfg.HostAddressOpt(
        "disk_transfer_address",
        default="127.0.0.1",
        help="Source side of a cold migration or resize to a host that does not share "
        "the instances path: the address of this host the destination's agent pulls the "
        "kept root disk from (one HTTP listener per move, closed once the disk was sent).",
    ),
    cfg.PortOpt(
        "disk_transfer_port",
        default=0,
        help="The port of that listener (0: one the kernel picks; set one to open it in "
        "a firewall; a second move from this host while a disk is on offer then fails and "
        "is rolled back).",
    ),
    cfg.IntOpt(
        "disk_transfer_timeout",
        default=600,
        min=1,
        help="Seconds the source keeps offering a kept root disk, and the destination's "
        "limit for reading it without progress.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
