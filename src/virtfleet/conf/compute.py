"""[DEFAULT] and [compute] options of the agent: identity, ratios, reservations."""

from __future__ import annotations

from oslo_config import cfg

OPTS: list[cfg.Opt] = [
    cfg.StrOpt("host", default=None, help="Name of this agent's host. Defaults to the hostname."),
    cfg.StrOpt(
        "data_dir",
        default="./virtfleet-data",
        help="Directory for the database, image data, instance files and clouds.yaml.",
    ),
    cfg.FloatOpt("cpu_allocation_ratio", default=4.0, min=0.0, help="VCPU overcommit ratio."),
    cfg.FloatOpt("ram_allocation_ratio", default=1.0, min=0.0, help="MEMORY_MB overcommit ratio."),
    cfg.FloatOpt("disk_allocation_ratio", default=1.0, min=0.0, help="DISK_GB overcommit ratio."),
    cfg.IntOpt("reserved_host_cpus", default=0, min=0, help="VCPUs kept for the host."),
    cfg.IntOpt("reserved_host_memory_mb", default=512, min=0, help="MiB of RAM kept for the host."),
    cfg.IntOpt("reserved_host_disk_mb", default=0, min=0, help="MiB of disk kept for the host."),
    cfg.StrOpt(
        "host_config_dir",
        default=None,
        help="`virtfleet up`: a directory of per-host configuration files; the agent of "
        "host NAME also reads NAME.conf there when it exists (e.g. each host's "
        "[network] tunnel_address).",
    ),
]

COMPUTE_OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "allow_resize_to_same_host",
        default=False,
        help="Let a resize pick the server's own host (both flavors are held there until "
        "the resize is confirmed or reverted). A cold migration never stays on its host.",
    ),
    cfg.IntOpt(
        "resize_confirm_window",
        default=0,
        min=0,
        help="Seconds after which the control plane confirms a cold migration or resize "
        "left in VERIFY_RESIZE (checked by its watchdog). 0 never confirms on its own.",
    ),
    cfg.IntOpt(
        "shelved_offload_time",
        default=0,
        min=-1,
        help="Seconds a shelved server keeps its host (its domain, disk and placement "
        "allocation) before the control plane offloads it (checked by its watchdog): 0 "
        "offloads as part of the shelve, -1 never (only shelveOffload does).",
    ),
    cfg.IntOpt(
        "shutdown_timeout",
        default=60,
        min=0,
        max=86400,
        help="Seconds a guest is given to shut down after its ACPI power button is "
        "pressed, on stop, soft reboot and delete, before it is forced off (hard reboot "
        "is always immediate). The image property os_shutdown_timeout overrides it per "
        "image. 0 forces guests off at once.",
    ),
    cfg.IntOpt(
        "resource_provider_refresh_interval",
        default=60,
        min=0,
        help="Seconds between the agent's re-discovery of its host (traits, inventory). "
        "0 disables the periodic refresh.",
    ),
    cfg.IntOpt(
        "host_down_after",
        default=180,
        min=0,
        help="Seconds without a report from a host's agent after which the control plane "
        "marks the host down, so the scheduler no longer picks it. Keep it a few times "
        "resource_provider_refresh_interval. 0 never marks hosts down. A server deleted "
        "while its host is down is deleted at once without its agent (local delete); "
        "the agent reaps the domain when it comes back (orphan_domain_action).",
    ),
    cfg.StrOpt(
        "orphan_domain_action",
        default="reap",
        choices=[
            (
                "reap",
                "destroy and undefine the domain and remove its instance files "
                "(never a shared directory or one another host's migration prepared; "
                "domains of servers with no record at all are only logged)",
            ),
            ("log", "leave the domain and log a warning at every report"),
            ("noop", "do not look for orphaned domains at all"),
        ],
        help="What an agent does, at start and at each periodic report, with the "
        "virtfleet domains on its host whose server was deleted, is unknown, or lives on "
        "another host with no live migration involving this host in progress. Domains "
        "virtfleet does not own are never touched.",
    ),
    cfg.BoolOpt(
        "force_config_drive",
        default=False,
        help="Give every new server a config drive (an ISO 9660 CD-ROM labelled config-2 "
        "with its metadata, user data and network data), as if it had asked for one "
        "with config_drive=true. A boot whose guest architecture has no CD-ROM bus is "
        "then refused (400).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
    conf.register_opts(COMPUTE_OPTS, group="compute")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, OPTS), ("compute", COMPUTE_OPTS)]
