"""[quota]: quotas as Keystone unified limits (Nova's and Glance's), and [oslo_limit],
the Keystone connection oslo.limit reads the limits with.

The limits live in Keystone (``openstack registered limit create``, ``openstack limit
create``); virtfleet counts the usage and enforces them through oslo.limit.
``[oslo_limit]`` holds oslo.limit's own options (credentials of a user with the
``reader`` role on the system, and which endpoint's limits apply); `virtfleet up`
fills them in for the Keystone it embeds. See :mod:`virtfleet.identity.limits` for how
they reach oslo.limit, which reads the process-wide ``cfg.CONF``.
"""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg
from oslo_limit import opts as limit_opts

GROUP = "quota"
LIMIT_GROUP = "oslo_limit"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "driver",
        default="unified_limits",
        choices=[
            (
                "unified_limits",
                "Keystone unified limits through oslo.limit (as Nova's "
                "UnifiedLimitsDriver and Glance's use_keystone_limits).",
            ),
            (
                "noop",
                "No quotas: every request is within limits (and quota-set reports -1, unlimited).",
            ),
        ],
        help="Where quota limits come from. With unified_limits and no Keystone "
        "credentials in [oslo_limit] (and no embedded Keystone to fill them in), quotas "
        "are not enforced and the server says so at start.",
    ),
    cfg.StrOpt(
        "unified_limits_resource_strategy",
        default="require",
        choices=[
            (
                "require",
                "Resources of unified_limits_resource_list without a registered "
                "limit have a limit of 0; other resources without one are unlimited.",
            ),
            (
                "ignore",
                "Resources of unified_limits_resource_list without a registered "
                "limit are unlimited; other resources without one have a limit of 0.",
            ),
        ],
        help="What a Compute resource without a registered limit in Keystone means "
        "(as Nova's option of the same name).",
    ),
    cfg.FloatOpt(
        "limits_cache_seconds",
        default=5.0,
        min=0,
        max=3600,
        help="Seconds the limits read from Keystone are kept before they are read "
        "again: a limit made or changed in Keystone counts from at most this long "
        "after. 0 reads them for every request (as Nova does), which costs Keystone "
        "several calls per boot.",
    ),
    cfg.ListOpt(
        "unified_limits_resource_list",
        default=["servers"],
        help="Compute resources the strategy names (servers, class:VCPU, "
        "class:MEMORY_MB, class:DISK_GB, class:<any resource class>).",
    ),
]


#: oslo.limit's own options (the rest of [oslo_limit] is keystoneauth's).
ENDPOINT_OPTS = frozenset(
    {
        "endpoint_id",
        "endpoint_service_name",
        "endpoint_service_type",
        "endpoint_region_name",
        "endpoint_interface",
    }
)


def _registered_opts() -> list[cfg.Opt]:
    """What virtfleet registers in [oslo_limit]: oslo.limit's endpoint options and
    keystoneauth's session, adapter and ``auth_type`` options. The auth plugin's own
    options (``auth_url``, ``username``, ``system_scope``, ...) are registered by
    keystoneauth once ``auth_type`` is read, as for [keystone_authtoken]."""
    endpoint = [o for _, opts in limit_opts.list_opts() for o in opts if o.dest in ENDPOINT_OPTS]
    return [
        *endpoint,
        *loading.get_session_conf_options(),
        *loading.get_adapter_conf_options(include_deprecated=False),
        *loading.get_auth_common_conf_options(),
    ]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(_registered_opts(), group=LIMIT_GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """[quota], and [oslo_limit] with the password plugin's options (what the
    sample configuration shows; keystoneauth registers them when it loads the plugin)."""
    registered = _registered_opts()
    names = {o.dest for o in registered}
    password = [o for o in loading.get_auth_plugin_conf_options("password") if o.dest not in names]
    return [(GROUP, OPTS), (LIMIT_GROUP, [*registered, *password])]
