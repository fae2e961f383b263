#!/usr/bin/env bash
# Set up virtfleet on a fresh Debian machine: the hypervisor packages, Chromium (the
# dashboard's browser test), a virtualenv in .venv with virtfleet and its test tools,
# and a running libvirtd. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-hypervisor.sh
bash scripts/install-browser.sh  # Chromium for the dashboard's browser test
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
bash scripts/libvirtd-up.sh
