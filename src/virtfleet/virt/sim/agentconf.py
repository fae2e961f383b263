"""The agent configuration a simulated host implies.

:func:`conf_overrides` turns a host profile into ``make_conf`` overrides
(``group__option=value``): the connection URI, virt type, CPU mode, the slices as
``[libvirt] slice_spec`` JSON lines, then the host's own ``config:`` block, which wins.
"""

from __future__ import annotations

import json

from virtfleet.virt.sim.profile import HostProfile, SliceSpec


def conf_overrides(profile: HostProfile) -> dict[str, object]:
    """``make_conf(**conf_overrides(profile))`` configures the agent of ``profile``."""
    overrides: dict[str, object] = {
        "host": profile.name,
        "libvirt__connection_uri": f"sim://{profile.name}",
        "libvirt__virt_type": profile.virt_type,
        "libvirt__cpu_mode": profile.cpu_mode,
        "libvirt__spawn_settle_seconds": 0.0,  # simulated guests never die on their own
    }
    if profile.slices:
        overrides["libvirt__slice_spec"] = [slice_spec_json(spec) for spec in profile.slices]
    for group, options in profile.config.items():
        for option, value in options.items():
            key = option if group == "DEFAULT" else f"{group}__{option}"
            overrides[key] = value
    return overrides


def slice_spec_json(spec: SliceSpec) -> str:
    """One ``[libvirt] slice_spec`` line. Inline templates are passed as ``template``
    (the agent's slice loader must accept it beside ``template_file``)."""
    entry: dict[str, str] = {"name": spec.name, "resource_class": spec.resource_class}
    if spec.template_file is not None:
        entry["template_file"] = spec.template_file
    if spec.template is not None:
        entry["template"] = spec.template
    if spec.conflict_parent is not None:
        entry["conflict_parent"] = spec.conflict_parent
    return json.dumps(entry, sort_keys=True)
