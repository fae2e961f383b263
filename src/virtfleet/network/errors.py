"""Network errors, each with the Neutron fault type the API puts in its body."""

from __future__ import annotations

from virtfleet import errors


class BadRequest(errors.InvalidInput):
    """400: the request is wrong (names what)."""

    code = "BadRequest"


class InvalidInput(errors.InvalidInput):
    code = "InvalidInput"


class InvalidIpForSubnet(errors.InvalidInput):
    code = "InvalidIpForSubnet"


class NetworkNotFound(errors.NotFound):
    code = "NetworkNotFound"


class SubnetNotFound(errors.NotFound):
    code = "SubnetNotFound"


class PortNotFound(errors.NotFound):
    code = "PortNotFound"


class SecurityGroupNotFound(errors.NotFound):
    code = "SecurityGroupNotFound"


class SecurityGroupRuleNotFound(errors.NotFound):
    code = "SecurityGroupRuleNotFound"


class MacAddressInUse(errors.Conflict):
    code = "MacAddressInUse"


class IpAddressInUse(errors.Conflict):
    code = "IpAddressInUse"


class IpAddressGenerationFailure(errors.Conflict):
    code = "IpAddressGenerationFailure"


class InUse(errors.Conflict):
    """409: the object is used (a network with ports, a subnet with addresses...)."""

    code = "InUse"


class SegmentInUse(errors.Conflict):
    code = "VlanIdInUse"


class SecurityGroupRuleExists(errors.Conflict):
    code = "SecurityGroupRuleExists"


class PolicyNotAuthorized(errors.VirtfleetError):
    """403: the caller's role does not allow this (provider attributes for members)."""

    code = "PolicyNotAuthorized"
