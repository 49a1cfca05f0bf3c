#!/usr/bin/env bash
# Reproduce the damage claim of Najarro & Risi (2020) at a reduced budget, one command:
# evolve Hebbian (ABCD_lr), static, bottleneck (K=16, K=64), neuromodulated (ABCD_lr gated by
# a modulatory neuron and the reward-prediction error) and evolve-and-merge Ants on the intact
# body and the front right lower leg shortened to a quarter (envs/reproduce/*.toml), then report
# every arm on every body in envs/ant (its mirror, the front left, unseen, as in the paper; both
# back legs unseen too) with 0/10/25/50% of the weights ablated mid-episode, and write the results
# page (metaheb results).
#
# Idempotent: a finished run is kept, a stopped one resumed from its checkpoint, so rerunning after
# a kill loses at most one generation. Extra arguments are config overrides for every run, e.g. the
# paper's scale on a cluster:
#   scripts/reproduce/ant_damage.sh ray.address=auto evolve.popsize=500 task.max_steps=1000 \
#       evolve.max_env_steps=0 evolve.generations=500
# Environment: SIM (mujoco, or bullet: every arm on pybullet's Ant, the paper's simulator,
# task.name=ant_bullet, its bodies in envs/ant_bullet, fitness in a.u.; needs
# pip install -e .[bullet]), SEEDS (Hebbian arm, default "0 1 2"), STATIC_SEEDS (SEEDS),
# BOTTLENECK_SEEDS ("0"), NEUROMOD_SEEDS ("0"), MERGE_SEEDS (evolve and merge, "0"), OUT
# (runs/reproduce, runs/reproduce-bullet), REPORT_SEEDS (episodes per report cell, 20), RESULTS
# (the page written from the report, docs/results.md; docs/results-bullet.md with SIM=bullet),
# FAMILY (a body family every arm is profiled over, default leg-length; empty: none) and
# FAMILY_SEEDS (its episodes per body, 10).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
metaheb=${METAHEB:-$root/.venv/bin/metaheb}
sim=${SIM:-mujoco}
case $sim in
    mujoco) sim_override=(); out=${OUT:-runs/reproduce} ;;
    bullet) sim_override=(task.name=ant_bullet); out=${OUT:-runs/reproduce-bullet} ;;
    *) echo "SIM must be mujoco or bullet, got '$sim'" >&2; exit 2 ;;
esac
seeds=${SEEDS-0 1 2}  # an empty SEEDS runs no seed
bottleneck_seeds=${BOTTLENECK_SEEDS-0}
static_seeds=${STATIC_SEEDS-$seeds}
neuromod_seeds=${NEUROMOD_SEEDS-0}
merge_seeds=${MERGE_SEEDS-0}

in_list() {  # in_list X A B ...: whether X is one of A B ...
    local x=$1; shift
    for y in "$@"; do [[ $x == "$y" ]] && return 0; done
    return 1
}

run_arm() {  # run_arm ARM SEED: train, resume, or keep runs/reproduce/ant-damage-ARM-sSEED
    local name="ant-damage-$1-s$2" dir="$out/ant-damage-$1-s$2"
    if [[ -f "$dir/agents/center.safetensors" ]]; then
        echo "== $name: done"
    elif [[ -f "$dir/checkpoint.pt" ]]; then
        echo "== $name: resuming"; "$metaheb" resume "$dir"
    else
        rm -rf "$dir"  # started but killed before its first checkpoint
        echo "== $name: training"
        "$metaheb" train "envs/reproduce/ant-damage-$1.toml" run.seed="$2" run.name="$name" \
            run.out_dir="$out" "${sim_override[@]}" "${@:3}"
    fi
}

# Arms interleaved by seed, so a cut-short session still has every arm at equal seeds.
for seed in $(printf '%s\n' $seeds $static_seeds $bottleneck_seeds $neuromod_seeds $merge_seeds \
        | sort -nu); do
    in_list "$seed" $seeds && run_arm hebbian "$seed" "$@"
    in_list "$seed" $static_seeds && run_arm static "$seed" "$@"
    in_list "$seed" $bottleneck_seeds && { run_arm k16 "$seed" "$@"; run_arm k64 "$seed" "$@"; }
    in_list "$seed" $neuromod_seeds && run_arm neuromod-both "$seed" "$@"
    in_list "$seed" $merge_seeds && run_arm merge "$seed" "$@"
done

shopt -s nullglob  # an arm not run (e.g. SEEDS="") is left out of the report
"$metaheb" report "$out"/ant-damage-{hebbian,static,k16,k64,neuromod-both,merge}-s* --out "$out/report" \
    --agent best_center --seeds "${REPORT_SEEDS:-20}" --max-steps 1000  # the paper's episodes
"${METAHEB_PYTHON:-$root/.venv/bin/python}" scripts/reproduce/summarize.py "$out/report/report.json" \
    --json "$out/report/summary.json"
[[ $sim == mujoco ]] && page=docs/results.md || page=docs/results-bullet.md
"$metaheb" results "$out/report" --out "${RESULTS:-$page}"
if [[ -n ${FAMILY-leg-length} ]]; then  # each arm's robustness profile over a body family
    "$metaheb" report "$out"/ant-damage-{hebbian,static,k16,k64,neuromod-both,merge}-s* \
        --out "$out/report-family" --agent best_center --seeds "${FAMILY_SEEDS:-10}" \
        --max-steps 1000 --ablation 0 --family "${FAMILY-leg-length}"
    "$metaheb" results "$out/report-family" --out "${RESULTS:-$page}" --section family
fi
echo "report: $out/report/report.md"
