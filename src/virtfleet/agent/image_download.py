"""Image data over HTTP: ``GET /v2/images/{id}/file`` of the Image API, as Nova's compute
downloads from Glance.

The agent authenticates as a service user of Keystone (``[glance] auth_type`` and the
plugin's options, e.g. ``password`` with the ``virtfleet`` user in the ``service``
project: the Image API lets the ``service`` role download any image) and finds the
endpoint in ``[glance] api_servers`` or, when that is empty, in the service catalog. An
endpoint that does not answer, or answers 5xx, makes the download try the next one
(``[glance] num_retries`` more times); anything else fails with ImageDataError naming
the endpoint and the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import requests
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from virtfleet import errors
from virtfleet.conf.image_cache import GLANCE
from virtfleet.observability import request_id

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class HttpImageSource:
    """Image data from the Image API at ``endpoints`` (else the catalog's, through
    ``session``'s authentication), with ``retries`` more tries after a failed one."""

    def __init__(
        self,
        session: ks_session.Session,
        endpoints: Sequence[str] = (),
        retries: int = 2,
        interfaces: Sequence[str] = ("internal", "public"),
        timeout: float = 60.0,
    ) -> None:
        self.session = session
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.retries = retries
        self.interfaces = list(interfaces)
        self.timeout = timeout
        self._next = 0

    def chunks(self, image_id: str) -> Iterator[bytes]:
        response = self._get(image_id)
        try:
            yield from response.iter_content(CHUNK_SIZE)
        except requests.RequestException as exc:
            raise errors.ImageDataError(
                f"image {image_id}: the download from {response.url} broke off: {exc}"
            ) from exc
        finally:
            response.close()

    def _get(self, image_id: str) -> requests.Response:
        problems: list[str] = []
        for _attempt in range(self.retries + 1):
            url = f"{self._endpoint()}/v2/images/{image_id}/file"
            try:
                response = self.session.get(
                    url,
                    stream=True,
                    raise_exc=False,
                    authenticated=self.session.auth is not None,
                    timeout=self.timeout,
                    log=False,  # not the data
                    headers={"Accept": "application/octet-stream"},
                    # the boot's request id, as Nova passes its own to Glance
                    global_request_id=request_id.current(),
                )
            except ks_exceptions.ClientException as exc:
                problems.append(f"{url}: {exc}")
                LOG.warning("image %s: %s does not answer (%s); trying again", image_id, url, exc)
                continue
            if response.status_code == 200:
                return response
            problem = f"{url} answered {response.status_code} {_reason(response)}"
            response.close()
            if response.status_code < 500:
                raise errors.ImageDataError(f"image {image_id}: {problem}{_hint(response)}")
            problems.append(problem)
        raise errors.ImageDataError(
            f"image {image_id}: no Image API endpoint delivered it: {'; '.join(problems)}"
        )

    def _endpoint(self) -> str:
        if self.endpoints:
            endpoint = self.endpoints[self._next % len(self.endpoints)]
            self._next += 1
            return endpoint
        if self.session.auth is None:
            raise errors.ImageDataError(
                "no Image API to fetch image data from: set [glance] api_servers, or "
                "[glance] auth_type and a service user to find it in the Keystone catalog"
            )
        try:
            found = self.session.get_endpoint(service_type="image", interface=self.interfaces)
        except ks_exceptions.ClientException as exc:
            raise errors.ImageDataError(
                f"cannot find the Image API in the Keystone catalog: {exc}"
            ) from exc
        if not found:
            raise errors.ImageDataError(
                "the Keystone catalog lists no image endpoint for the interfaces "
                f"{', '.join(self.interfaces)} ([glance] valid_interfaces)"
            )
        return str(found).rstrip("/")


def _reason(response: requests.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] if text else str(response.reason or "")


def _hint(response: requests.Response) -> str:
    if response.status_code in (401, 403):
        return " (check the service user in [glance]: auth_type, username, password)"
    return ""


def source_from_conf(conf: cfg.ConfigOpts) -> HttpImageSource:
    """The Image API source ``[glance]`` describes (a session without authentication
    when ``auth_type`` is unset: only for clouds in the ``noauth`` test mode)."""
    group = conf[GLANCE]
    auth = loading.load_auth_from_conf_options(conf, GLANCE) if group.auth_type else None
    session = loading.load_session_from_conf_options(conf, GLANCE, auth=auth)
    return HttpImageSource(
        session,
        endpoints=list(group.api_servers),
        retries=int(group.num_retries),
        interfaces=list(group.valid_interfaces),
        timeout=float(group.timeout or 60),
    )
