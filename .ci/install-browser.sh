#!/usr/bin/env bash
# Browser for the end-to-end tests (tests/e2e): Debian's chromium driven by Playwright for Python.
# Playwright's own browser download (`playwright install`) is not used: the tests launch /usr/bin/chromium.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium
fi
python -c "import playwright" 2>/dev/null || python -m pip install -q "playwright>=1.40"
chromium --version
