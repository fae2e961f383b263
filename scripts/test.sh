#!/usr/bin/env bash
# Set up, then run the whole test suite: lint, types, and every test (including the
# ones against a real libvirtd with QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff";  .venv/bin/ruff check src tests
echo "== mypy";  .venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest "$@"
