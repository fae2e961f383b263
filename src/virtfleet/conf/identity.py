"""[identity]: the Keystone that `virtfleet up` embeds; [keystone_authtoken] and
[oslo_policy] (the policy file) as keystonemiddleware and oslo.policy define them.

Every API authenticates through keystonemiddleware's ``auth_token`` (``[api]
auth_strategy = keystone``); its ``[keystone_authtoken]`` options are keystonemiddleware's
own and listed here so that the sample config and ``make_conf`` know them. `virtfleet up`
fills them in itself for the Keystone it embeds.
"""

from __future__ import annotations

from keystoneauth1 import loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_policy import opts as policy_opts

GROUP = "identity"
AUTHTOKEN_GROUP = "keystone_authtoken"

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "embedded",
        default=True,
        help="Whether `virtfleet up` runs its own Keystone (bootstrapped on first start "
        "in <data_dir>/keystone, its admin password in the clouds.yaml it writes). False: "
        "the APIs validate tokens against the Keystone of [keystone_authtoken], as "
        "`virtfleet server` always does, and its catalog is the operator's to register.",
    ),
    cfg.StrOpt(
        "listen",
        default="127.0.0.1:5000",
        help="HOST:PORT the Keystone embedded by `virtfleet up` listens on (port 0: any "
        "free port). Its Identity API v3 is at http://HOST:PORT/v3; the service catalog "
        "it serves lists the identity, compute, image and placement endpoints.",
    ),
    cfg.StrOpt(
        "region",
        default="RegionOne",
        help="Region of the endpoints `virtfleet up` registers in the embedded Keystone.",
    ),
    cfg.FloatOpt(
        "start_timeout",
        default=120.0,
        min=1.0,
        help="Seconds the embedded Keystone may take to answer after it is started "
        "(its first start also creates its database and keys).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    policy_opts.set_defaults(conf)  # registers [oslo_policy] (policy_file, ...)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Also the ``password`` auth plugin's options (what the service user authenticates
    with), as Nova lists them: auth_token registers them itself once it reads
    ``auth_type`` (registered here, ``auth_url`` would be required everywhere)."""
    password = loading.get_auth_plugin_conf_options("password")
    authtoken = [(group, [*opts, *password]) for group, opts in auth_token.list_opts()]
    return [(GROUP, OPTS), *authtoken, *policy_opts.list_opts()]
