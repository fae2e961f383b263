#!/usr/bin/env bash
# Set up, then run the virtfleet demo on the embedded default (the sample fleet of
# simulated hypervisors). Extra arguments go to `virtfleet demo` (e.g. --exit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Debian cloud image the docs' real-guest examples boot (built once, then cached;
# VIRTFLEET_CLOUD_IMAGE_ARCHES= skips it).
arches=${VIRTFLEET_CLOUD_IMAGE_ARCHES-x86_64}
if [[ -n $arches ]]; then bash scripts/cloud-image.sh $arches; fi
exec .venv/bin/virtfleet demo "$@"
