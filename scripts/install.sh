#!/usr/bin/env bash
# Install metaheb and everything it needs into a virtual environment (default: .venv at the repo
# root; METAHEB_VENV overrides it). Used by quickstart.sh, test.sh and the container image.
#
# torch comes first and pinned (torch==2.13.0, CPU build): a bare torch requirement on a machine
# without torch pulls several GB of CUDA wheels. Where PyPI serves only CUDA builds, point
# METAHEB_TORCH_INDEX at PyTorch's CPU wheel index.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${METAHEB_VENV:-$root/.venv}
extras=${METAHEB_EXTRAS:-dev}

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
# -qq: pip's errors only. A fresh install prints this script's few lines, not pip's progress or
# the warnings of a machine's pip configuration (find-links folders that do not exist, say).
pip=("$venv/bin/python" -m pip install -qq --disable-pip-version-check)
"${pip[@]}" --upgrade pip
"${pip[@]}" "torch==2.13.0" ${METAHEB_TORCH_INDEX:+--extra-index-url "$METAHEB_TORCH_INDEX"}
"${pip[@]}" -e "$root[$extras]"
echo "metaheb installed in $venv ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
