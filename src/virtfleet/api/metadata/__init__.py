"""The metadata service (``[metadata] listen``): what 169.254.169.254 answers a guest,
in the OpenStack and EC2 formats, for the instance the network-side proxy vouches for."""

from __future__ import annotations

from virtfleet.api.metadata.app import MetadataApp

__all__ = ["MetadataApp"]
