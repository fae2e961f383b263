"""Real ``libvirt.libvirtError`` objects for the simulated hypervisor.

Callers branch on ``get_error_code()``, so the simulator raises the same class with the
same ``VIR_ERR_*`` codes and message prefixes real libvirt uses.
"""

from __future__ import annotations

import libvirt

# Prefix libvirt puts before the detail text, per error code.
_PREFIX: dict[int, str] = {
    libvirt.VIR_ERR_INTERNAL_ERROR: "internal error: ",
    libvirt.VIR_ERR_NO_SUPPORT: "this function is not supported by the connection driver: ",
    libvirt.VIR_ERR_XML_ERROR: "XML error: ",
    libvirt.VIR_ERR_OPERATION_FAILED: "operation failed: ",
    libvirt.VIR_ERR_INVALID_ARG: "invalid argument: ",
    libvirt.VIR_ERR_NO_DOMAIN: "Domain not found: ",
    libvirt.VIR_ERR_OPERATION_INVALID: "Requested operation is not valid: ",
    libvirt.VIR_ERR_CONFIG_UNSUPPORTED: "unsupported configuration: ",
    libvirt.VIR_ERR_NO_NODE_DEVICE: "Node device not found: ",
    libvirt.VIR_ERR_OPERATION_ABORTED: "operation aborted: ",
    libvirt.VIR_ERR_OPERATION_UNSUPPORTED: "Operation not supported: ",
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED: "argument unsupported: ",
    libvirt.VIR_ERR_NO_CONNECT: "no connection driver available for ",
}


def libvirt_error(
    code: int,
    detail: str,
    domain: int = libvirt.VIR_FROM_QEMU,
    *,
    prefix: bool = True,
) -> libvirt.libvirtError:
    """Build a ``libvirtError`` whose ``get_error_code()`` is ``code``.

    The constructor of ``libvirtError`` reads libvirt's thread-local last error, which
    may hold a stale error of an unrelated real call; this sets the fields directly.
    """
    message = (_PREFIX.get(code, "") if prefix else "") + detail
    error: libvirt.libvirtError = libvirt.libvirtError.__new__(libvirt.libvirtError)
    Exception.__init__(error, message)
    error.err = (code, domain, message, libvirt.VIR_ERR_ERROR, detail, None, None, -1, -1)
    return error
