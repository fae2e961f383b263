"""``[keystone_authtoken]`` for the Keystone that `virtfleet up` embeds.

The APIs validate tokens as the ``virtfleet`` service user (password auth in the
``service`` project), as Nova's ``[keystone_authtoken]`` does against any Keystone.
"""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg

from virtfleet.identity.layout import DOMAIN, SERVICE_PROJECT, SERVICE_USER

GROUP = "keystone_authtoken"


def use_keystone(conf: cfg.ConfigOpts, www_authenticate_uri: str, password: str) -> None:
    """Point ``conf``'s ``[keystone_authtoken]`` at the Keystone whose Identity API v3 is
    at ``www_authenticate_uri``, authenticating as the service user with ``password``."""
    conf.register_opts(loading.get_auth_plugin_conf_options("password"), group=GROUP)
    values = {
        "www_authenticate_uri": www_authenticate_uri,
        "auth_type": "password",
        "auth_url": www_authenticate_uri,
        "username": SERVICE_USER,
        "password": password,
        "project_name": SERVICE_PROJECT,
        "user_domain_name": DOMAIN,
        "project_domain_name": DOMAIN,
        # The catalog lists identity's public, internal and admin endpoints alike.
        "interface": "public",
    }
    for name, value in values.items():
        conf.set_override(name, value, group=GROUP)
