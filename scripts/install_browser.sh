#!/usr/bin/env bash
# Install what the interactive page's browser test needs (tests/test_viz_browser.py):
#   - Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), with apt-get (root);
#   - the page's browser scripts, from the npm registry into Solara's asset cache (needs node and npm).
# selenium comes with the dev extra (pip install -e '.[viz,dev]').
# Usage: scripts/install_browser.sh [PYTHON]   (default: .venv/bin/python if present, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
fi
if ! command -v npm >/dev/null; then
    echo "install_browser.sh: npm not found; install Node.js and npm (Debian: apt-get install -y npm)" >&2
    exit 1
fi
"$PY" -m woundsim viz --install-assets
/usr/bin/chromium --version 2>/dev/null
