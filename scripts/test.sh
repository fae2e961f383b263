#!/usr/bin/env bash
# Set up, then run the whole test suite: lint, types, and every test (including the
# ones against a real libvirtd with QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Real guest kernels for the tests that boot real TCG guests (about 7 s per arch).
bash scripts/guest-images.sh ${VIRTFLEET_TEST_ARCHES:-x86_64 aarch64 ppc64le s390x riscv64 mipsel}
# The Debian cloud image for the cloud-init tests (about 8 minutes when this script
# changed, cached otherwise).
bash scripts/cloud-image.sh ${VIRTFLEET_CLOUD_IMAGE_ARCHES:-x86_64}
echo "== ruff";  .venv/bin/ruff check src tests && .venv/bin/ruff format --check src tests
echo "== mypy";  .venv/bin/mypy
# The database tests run on SQLite and on a real PostgreSQL (seconds once installed).
bash scripts/install-postgresql.sh
# The distributed-mode tests run real RabbitMQ (about 2 minutes to install the first time).
if [[ "${CI:-}" == true ]]; then bash scripts/install-rabbitmq.sh; fi
echo "== pytest"
# Independent modules run side by side (tests/conftest.py groups them; -n 1 for one),
# so the tests' hang guards allow for shared cores (support/ci.py time_bound).
workers=${VIRTFLEET_TEST_WORKERS:-3}
if (( workers > 1 )); then export VIRTFLEET_TEST_TIME_FACTOR=${VIRTFLEET_TEST_TIME_FACTOR:-3}; fi
# --no-loadscope-reorder: keep the long-first order tests/conftest.py gives the groups
# (xdist would otherwise start the groups with the most tests first, and the long real
# modules, which have few tests, last).
exec .venv/bin/pytest -n "$workers" --dist loadgroup --no-loadscope-reorder --durations=25 "$@"
