#!/usr/bin/env bash
# Tests, one command: install everything, lint with ruff, run the test suite (real MuJoCo,
# gymnasium and Ray, small budgets). Extra arguments go to pytest, e.g. -m slow or -k rules.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${METAHEB_VENV:-$root/.venv}
bash "$root/scripts/install.sh" 2> >(grep -v "^WARNING: Location" >&2)
cd "$root"
"$venv/bin/ruff" check .
"$venv/bin/python" -m pytest "$@"
