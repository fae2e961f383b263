#!/usr/bin/env bash
# Set up, then run the virtfleet demo on the embedded default (the sample fleet of
# simulated hypervisors). Extra arguments go to `virtfleet demo` (e.g. --exit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/virtfleet demo "$@"
