#!/usr/bin/env bash
# A sample robustness report in a few minutes: evolve a small Hebbian and a small static Ant on
# the intact body and the damaged front right leg, then report both on every body in envs/ant
# with 0/10/25/50% of the weights ablated mid-episode. Opens nothing; prints where the report is.
# Extra arguments are config overrides for both runs, e.g. evolve.generations=20.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
metaheb=${METAHEB:-$root/.venv/bin/metaheb}
out=${OUT:-runs/sample-report}
rm -rf "$out"
for model in hebbian static; do
    "$metaheb" train envs/ant-damage.toml network.model="$model" run.name="$model" \
        run.out_dir="$out" evolve.popsize=16 evolve.generations=5 task.max_steps=300 "$@"
done
"$metaheb" report "$out/hebbian" "$out/static" --out "$out/report" --seeds 5
echo "sample report: $out/report/report.html (and report.md, report.json)"
