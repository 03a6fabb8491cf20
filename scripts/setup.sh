#!/usr/bin/env bash
# Set up woundsim's virtual environment in .venv (idempotent; re-installs only when the
# requirements change). Finds Python 3.12 by itself: python3.12 on PATH, else pyenv's 3.12.x.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    # a pyenv shim named python3.12 may exist on PATH yet fail to run: check that it runs
    if python3.12 -c 'import sys' >/dev/null 2>&1; then command -v python3.12; return; fi
    if command -v pyenv >/dev/null 2>&1; then
        local v
        for v in "${PYENV_VERSION:-}" 3.12.1 $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12' | sort -rV); do
            [ -n "$v" ] || continue
            if PYENV_VERSION="$v" pyenv which python >/dev/null 2>&1; then
                local p; p=$(PYENV_VERSION="$v" pyenv which python)
                if "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then echo "$p"; return; fi
            fi
        done
    fi
    echo "woundsim needs Python 3.12: install it (e.g. 'pyenv install 3.12.1') and re-run" >&2
    exit 1
}

if [ ! -x .venv/bin/python ]; then
    py=$(find_python)
    echo "[setup] creating .venv with $py"
    "$py" -m venv .venv
fi
stamp=.venv/.woundsim-requirements
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[setup] installing woundsim and its dependencies into .venv (first time takes a few minutes)"
    log=.venv/setup-pip.log
    if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
           .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"; } >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" | tail -n 30 >&2
        echo "[setup] pip install failed; full log in $log" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
echo "[setup] ready: $(.venv/bin/python --version), woundsim in .venv"
