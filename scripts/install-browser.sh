#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver (chromium, chromium-driver) for the
# dashboard's browser test (tests/e2e/dashboard). Never downloads a browser build of
# its own: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver.
# Idempotent.
#
# Environment:
#   VIRTFLEET_SKIP_APT=1   do not touch apt (everything already installed)
set -euo pipefail

PACKAGES=(chromium chromium-driver)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})) && [[ "${VIRTFLEET_SKIP_APT:-0}" != 1 ]]; then
  echo "install-browser: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
