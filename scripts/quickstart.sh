#!/usr/bin/env bash
# Quick start, one command: install everything, then evolve a Hebbian Ant for a few generations on
# an embedded local Ray. Extra arguments are config overrides, e.g. evolve.generations=20.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${METAHEB_VENV:-$root/.venv}
bash "$root/scripts/install.sh" 2> >(grep -v "^WARNING: Location" >&2)
cd "$root"
"$venv/bin/metaheb" train envs/ant-quick.toml "$@"
