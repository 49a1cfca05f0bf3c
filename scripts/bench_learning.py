"""Benchmark learning: the held-out search centre's distance against env steps, per arm and seed.

The walkers measure of progress (docs/walkers.md): every ``evolve.eval_every`` generations a
run scores its search centre on 10 held-out 1000-step episodes on the intact body; a
generation's best member is a lucky draw and is not read here. For each arm, in one run:

- ``hebbian``: ``envs/ant.toml`` (ABCD_lr, bullet observation, max|w| normalisation);
- ``static``: ``envs/ant-static.toml`` (the weights themselves evolved the same way);
- ``pgpe``: the peer a user would otherwise pick, EvoTorch's ``GymNE`` on Ant-v5 with PGPE and
  observation normalisation, an obs-128-64-8 tanh policy, fitness the forward distance
  (``scripts/learning_peer.py``).

Each metaheb arm trains through ``metaheb train`` into ``<out>/<arm>-s<seed>``; a run cut off is
picked up with ``metaheb resume`` when the benchmark runs again, a finished one is read as it
is, so the full run (about an hour on 2 cores) can be killed and restarted. Prints, per run, the
env steps at which the centre first reaches 5 m and 10 m and its last held-out distance; per
arm, how many seeds reached 10 m and the median env steps to get there, and the ratio of each
arm's median to the Hebbian arm's. ``--json PATH`` writes the same figures with the curves;
the learning-curve PNG goes to ``<out>/learning.png``.

    python scripts/bench_learning.py [--budget 2000000] [--seeds 3] [--arms hebbian static pgpe]
        [--out runs/bench_learning] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from metaheb.report.figures import learning_curves
from metaheb.runs import atomic_write_bytes, heldout_curve

ROOT = Path(__file__).resolve().parent.parent
PRESETS = {"hebbian": ROOT / "envs" / "ant.toml", "static": ROOT / "envs" / "ant-static.toml"}
THRESHOLDS = (5.0, 10.0)


def metaheb_command() -> str:
    return str(Path(sys.executable).parent / "metaheb")


def train_or_resume(arm: str, seed: int, budget: int, out: Path, workers: int) -> Path:
    """Train one metaheb run, or resume it if an earlier benchmark was cut off; its directory."""
    run = out / f"{arm}-s{seed}"
    if (run / "agents" / "center.safetensors").exists():
        return run
    if (run / "checkpoint.pt").exists():
        command = [metaheb_command(), "resume", str(run)]
    else:
        command = [
            metaheb_command(), "train", str(PRESETS[arm]),
            f"run.seed={seed}", f"run.name={run.name}", f"run.out_dir={out}",
            f"evolve.max_env_steps={budget}", f"ray.num_workers={workers}",
        ]  # fmt: skip
    print(f"# {arm} seed {seed}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return run


def curve_of(run: Path) -> dict:
    """The held-out centre's curve of a finished run: (cumulative env steps, mean, std) points."""
    curve = heldout_curve(run)
    points = [list(point) for point in curve.points]
    return {"curve": points, "env_steps": curve.env_steps, "train_seconds": curve.seconds}


def steps_to(curve: list[list[float]], metres: float) -> int | None:
    """The env steps at which the held-out centre first walks at least ``metres``."""
    return next((int(steps) for steps, mean, _ in curve if mean >= metres), None)


def summarise(arm: str, seed: int, result: dict) -> dict:
    curve = result["curve"]
    return {
        "arm": arm,
        "seed": seed,
        **result,
        "final_m": curve[-1][1],
        "best_m": max(mean for _, mean, _ in curve),
        **{f"steps_to_{metres:g}m": steps_to(curve, metres) for metres in THRESHOLDS},
    }


def arm_summary(runs: list[dict]) -> dict:
    reached = [run["steps_to_10m"] for run in runs if run["steps_to_10m"] is not None]
    return {
        "seeds": len(runs),
        "seeds_reaching_10m": len(reached),
        # Only a median over every seed is a median: one seed that never walks leaves it undefined.
        "median_steps_to_10m": statistics.median(reached) if len(reached) == len(runs) else None,
        "mean_final_m": statistics.fmean(run["final_m"] for run in runs),
    }


def plot(runs: list[dict], path: Path) -> None:
    curves = [(run["arm"], run["curve"]) for run in runs]
    title = "Ant, intact body: search centre on 10 held-out episodes"
    atomic_write_bytes(path, learning_curves(curves, title, threshold=10.0))


def fmt_steps(steps: int | None) -> str:
    return "never" if steps is None else f"{steps / 1e6:.2f}M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2_000_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per metaheb arm")
    parser.add_argument("--peer-seeds", type=int, default=1, help="seeds of the EvoTorch peer")
    parser.add_argument("--arms", nargs="+", default=["hebbian", "static", "pgpe"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_learning")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    unknown = set(args.arms) - {*PRESETS, "pgpe"}
    if unknown:
        parser.error(f"unknown arm {sorted(unknown)}; choose from hebbian, static, pgpe")

    runs = []
    for arm in args.arms:
        for seed in range(args.peer_seeds if arm == "pgpe" else args.seeds):
            if arm == "pgpe":
                from learning_peer import train_peer  # scripts/ is on sys.path when run

                result = train_peer(seed, args.budget, args.out / f"pgpe-s{seed}", args.workers)
            else:
                run = train_or_resume(arm, seed, args.budget, args.out, args.workers)
                result = curve_of(run)
            runs.append(summarise(arm, seed, result))
            summary = runs[-1]
            print(
                f"{arm:>8} s{seed}  final {summary['final_m']:6.2f} m"
                f"  best {summary['best_m']:6.2f} m"
                f"  to 5 m {fmt_steps(summary['steps_to_5m']):>6}"
                f"  to 10 m {fmt_steps(summary['steps_to_10m']):>6}"
                f"  ({summary['env_steps'] / summary['train_seconds']:,.0f} env-steps/s)",
                flush=True,
            )

    arms = {arm: arm_summary([r for r in runs if r["arm"] == arm]) for arm in args.arms}
    print(f"\nheld-out centre, budget {args.budget / 1e6:g}M env steps per run:")
    reference = arms.get("hebbian", {}).get("median_steps_to_10m")
    for arm, summary in arms.items():
        median = summary["median_steps_to_10m"]
        ratio = f"{median / reference:.2f}x hebbian's" if median and reference else "-"
        print(
            f"{arm:>8}: {summary['seeds_reaching_10m']}/{summary['seeds']} seeds reach 10 m,"
            f" median {fmt_steps(median)} env steps ({ratio}),"
            f" mean last {summary['mean_final_m']:.2f} m"
        )
    plot(runs, args.out / "learning.png")
    print(f"learning curve: {args.out / 'learning.png'}")
    if args.json:
        figures = {"budget": args.budget, "arms": arms, "runs": runs}
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=1).encode())


if __name__ == "__main__":
    main()
