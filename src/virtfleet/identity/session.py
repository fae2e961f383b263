"""Password authentication against a Keystone: a keystoneauth1 session."""

from __future__ import annotations

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from virtfleet.identity.layout import DOMAIN


def password_session(
    auth_url: str,
    username: str,
    password: str,
    project_name: str,
    user_domain_name: str = DOMAIN,
    project_domain_name: str = DOMAIN,
    timeout: float = 30.0,
) -> ks_session.Session:
    """A session that authenticates (lazily) as ``username`` in ``project_name``."""
    auth = v3.Password(
        auth_url=auth_url,
        username=username,
        password=password,
        project_name=project_name,
        user_domain_name=user_domain_name,
        project_domain_name=project_domain_name,
    )
    return ks_session.Session(auth=auth, timeout=timeout)
