"""[scheduler]: request building, filters and weighers."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "scheduler"

#: The canonical architecture names (virtfleet.virt.arch.ARCHES; a unit test keeps
#: them equal).
ARCH_NAMES = (
    "x86_64", "i686", "aarch64", "armv7l", "armv6l", "ppc64le", "ppc64", "s390x",
    "riscv64", "riscv32", "mipsel", "mips", "mips64el", "mips64",
)  # fmt: skip

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "image_properties_default_architecture",
        choices=ARCH_NAMES,
        help="Guest architecture of an image that names none (no hw_architecture, "
        "hw_emulation_architecture or architecture, and none inferred from its data at "
        "upload): its servers go only to hosts that run this arch natively. Unset: "
        "such a guest takes the architecture of whichever host it lands on.",
    ),
    cfg.BoolOpt(
        "image_metadata_prefilter",
        default=True,
        help="Turn image properties (hw_architecture, hw_emulation_architecture, "
        "hw_disk_bus, ...) into required traits on the compute node.",
    ),
    cfg.BoolOpt(
        "query_placement_for_availability_zone",
        default=True,
        help="Ask placement for hosts in the aggregates of the boot's availability zone "
        "(member_of), as Nova does; off, a boot's zone is not honoured.",
    ),
    cfg.BoolOpt(
        "limit_tenants_to_placement_aggregate",
        default=False,
        help="Send a project's servers only to hosts of the aggregates whose "
        "filter_tenant_id metadata (or filter_tenant_id<suffix>) names it; a project "
        "no aggregate names goes anywhere (see the next option).",
    ),
    cfg.BoolOpt(
        "placement_aggregate_required_for_tenants",
        default=False,
        help="With limit_tenants_to_placement_aggregate: a project no aggregate names "
        "gets no host at all.",
    ),
    cfg.BoolOpt(
        "enable_isolated_aggregate_filtering",
        default=False,
        help="Keep requests out of aggregates whose metadata says trait:<T>=required "
        "unless the flavor or the image requires T.",
    ),
    cfg.IntOpt(
        "max_placement_results",
        default=50,
        min=1,
        help="Most allocation candidates asked of placement per boot. Each boot asks "
        "for this many starting at a random place among the hosts that fit, so boots "
        "sample the whole fleet and the weighers pick the best of the sample; more "
        "weighs more hosts per boot at a cost linear in this number. When every "
        "candidate of a sample fails the filters, placement is asked again without "
        "a limit.",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Hosts tried per boot before the server goes to ERROR.",
    ),
    cfg.FloatOpt(
        "host_cache_seconds",
        default=2.0,
        min=0.0,
        help="Seconds the scheduler keeps its copy of the compute nodes table before "
        "reloading it (a host that goes down or is disabled is seen at most this late; "
        "a new host is seen at once). 0 reloads on every request.",
    ),
    cfg.IntOpt(
        "host_subset_size",
        default=1,
        min=1,
        help="Claim one of this many best-weighed hosts at random (then the rest in "
        "order). 1 always claims the best host; a larger value makes concurrent boots "
        "race less for the same host, at the cost of a slightly worse choice.",
    ),
    cfg.DictOpt(
        "weights",
        default={},
        help="Multiplier per weigher name, e.g. 'ram:1.0,native_arch:100'.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
