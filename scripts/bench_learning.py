"""Benchmark learning: the held-out search centre's fitness against env steps, per arm and seed.

The walkers measure of progress (docs/walkers.md): every ``evolve.eval_every`` generations a
run scores its search centre on 10 held-out 1000-step episodes; a generation's best member is a
lucky draw and is not read here. Two tasks (``--task``):

``ant`` (distance in metres on the intact body; thresholds 5 m and 10 m):

- ``hebbian``: ``envs/ant.toml`` (ABCD_lr, bullet observation, max|w| normalisation);
- ``static``: ``envs/ant-static.toml`` (the weights themselves evolved the same way);
- ``pgpe-linear`` and ``pgpe``: the peer a user would otherwise pick, EvoTorch's ``GymNE`` on
  Ant-v5 with PGPE and observation normalisation, fitness the forward distance
  (``scripts/learning_peer.py``): a linear policy (the peer's strongest documented
  configuration) and an obs-128-64-8 tanh network.

``carracing`` (the return on 10 held-out tracks; thresholds 100 and 300 points):

- ``hebbian``: ``envs/carracing.toml`` (the authors' protocol, ABCD_lr);
- ``static``: the same preset with ``network.model=static``;

each with every ``--action-repeat`` k (default 1 and 4; arm ``hebbian-repeat4`` for k=4): the
network looks and acts on every k-th frame, fitness still the return over every frame.

Each metaheb arm trains through ``metaheb train`` into ``<out>/<arm>-s<seed>``; a run cut off is
picked up with ``metaheb resume`` when the benchmark runs again, a finished one is read as it
is, so a full run (about an hour on 2 cores per task) can be killed and restarted. Prints, per
run, the env steps at which the centre first reaches each threshold and its last held-out
score; per arm, how many seeds reached the upper threshold and the median env steps to get
there, and the ratio of each arm's median to the Hebbian arm's. ``--json PATH`` writes the same
figures with the curves; the learning-curve PNG goes to ``<out>/learning.png``.

    python scripts/bench_learning.py [--task ant] [--budget 2000000] [--seeds 3]
        [--arms hebbian static pgpe-linear pgpe] [--out runs/bench_learning] [--json out.json]
    python scripts/bench_learning.py --task carracing --seeds 1 [--action-repeat 1 4]
        [--results docs/results.md]

``--results PAGE`` (CarRacing) writes the page's "## CarRacing" section (the table, the
learning curve beside it in ``figures/carracing/``, the paper's numbers and the cost of its
scale), keeping the rest of the page, which ``metaheb results`` writes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metaheb.report.figures import learning_curves
from metaheb.report.sections import splice_section
from metaheb.runs import atomic_write_bytes, heldout_curve

ROOT = Path(__file__).resolve().parent.parent
AIM = 300.0  # CarRacing's held-out return to reach at this budget (the paper's: 872)


@dataclass(frozen=True)
class Bench:
    """What one task's benchmark trains and how its curves read."""

    presets: dict[str, tuple[Path, tuple[str, ...]]]  # arm -> (preset, its overrides)
    peers: tuple[str, ...]  # arms trained outside metaheb
    thresholds: tuple[float, float]  # the upper one is "learnt"
    unit: str  # "m" or "" (points): the JSON keys are steps_to_<threshold><unit>
    budget: int  # default env steps per run
    action_repeats: tuple[int, ...]  # default --action-repeat
    title: str
    ylabel: str


BENCHES = {
    "ant": Bench(
        presets={
            "hebbian": (ROOT / "envs" / "ant.toml", ()),
            "static": (ROOT / "envs" / "ant-static.toml", ()),
        },
        peers=("pgpe-linear", "pgpe"),
        thresholds=(5.0, 10.0),
        unit="m",
        budget=2_000_000,
        action_repeats=(1,),
        title="Ant, intact body: search centre on 10 held-out episodes",
        ylabel="held-out search centre, distance (m)",
    ),
    "carracing": Bench(
        presets={
            # The preset's 10 generations are a quick look; here the budget ends a run.
            "hebbian": (ROOT / "envs" / "carracing.toml", ("evolve.generations=100000",)),
            "static": (
                ROOT / "envs" / "carracing.toml",
                ("evolve.generations=100000", "network.model=static"),
            ),
        },
        peers=(),
        thresholds=(100.0, AIM),
        unit="",
        budget=800_000,
        action_repeats=(1, 4),
        title="CarRacing: search centre on 10 held-out 1000-step tracks",
        ylabel="held-out search centre, return (points)",
    ),
}


def metaheb_command() -> str:
    return str(Path(sys.executable).parent / "metaheb")


def arm_name(arm: str, action_repeat: int) -> str:
    return arm if action_repeat == 1 else f"{arm}-repeat{action_repeat}"


def train_or_resume(
    bench: Bench, arm: str, action_repeat: int, seed: int, budget: int, out: Path, workers: int
) -> Path:
    """Train one metaheb run, or resume it if an earlier benchmark was cut off; its directory."""
    run = out / f"{arm_name(arm, action_repeat)}-s{seed}"
    if (run / "agents" / "center.safetensors").exists():
        return run
    if (run / "checkpoint.pt").exists():
        command = [metaheb_command(), "resume", str(run)]
    else:
        preset, overrides = bench.presets[arm]
        repeat = [f"task.action_repeat={action_repeat}"] if action_repeat != 1 else []
        command = [
            metaheb_command(), "train", str(preset), *overrides, *repeat,
            f"run.seed={seed}", f"run.name={run.name}", f"run.out_dir={out}",
            f"evolve.max_env_steps={budget}", f"ray.num_workers={workers}",
        ]  # fmt: skip
    print(f"# {run.name}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return run


def curve_of(run: Path) -> dict:
    """The held-out centre's curve of a finished run: (cumulative env steps, mean, std) points."""
    curve = heldout_curve(run)
    points = [list(point) for point in curve.points]
    return {"curve": points, "env_steps": curve.env_steps, "train_seconds": curve.seconds}


def steps_to(curve: list[list[float]], level: float) -> int | None:
    """The env steps at which the held-out centre first scores at least ``level``."""
    return next((int(steps) for steps, mean, _ in curve if mean >= level), None)


def key(bench: Bench, level: float) -> str:
    return f"{level:g}{bench.unit}"


def summarise(bench: Bench, arm: str, seed: int, result: dict) -> dict:
    curve = result["curve"]
    return {
        "arm": arm,
        "seed": seed,
        **result,
        "final": curve[-1][1],
        "best": max(mean for _, mean, _ in curve),
        **{f"steps_to_{key(bench, level)}": steps_to(curve, level) for level in bench.thresholds},
    }


def arm_summary(bench: Bench, runs: list[dict]) -> dict:
    goal = key(bench, bench.thresholds[-1])
    reached = [run[f"steps_to_{goal}"] for run in runs if run[f"steps_to_{goal}"] is not None]
    return {
        "seeds": len(runs),
        f"seeds_reaching_{goal}": len(reached),
        # Only a median over every seed is a median: one seed that never gets there leaves it
        # undefined.
        f"median_steps_to_{goal}": statistics.median(reached)
        if len(reached) == len(runs)
        else None,
        "mean_final": statistics.fmean(run["final"] for run in runs),
    }


PAPER_CARRACING = (
    "The paper (Najarro & Risi 2020, CarRacing-v0): Hebbian 872 +- 11, static 711 +- 16,"
    " after OpenAI-ES with population 200 for 300 generations (the authors' code):"
    " up to 60M env steps per run (1000-step episodes, fewer where the early stop ends them)."
)
PAPER_ENV_STEPS = 200 * 300 * 1000


def extrapolation(run: dict, level: float) -> str:
    """What a run's curve says about reaching ``level``: its least-squares line through every
    held-out point, as a rough guide (learning curves bend), in one sentence."""
    steps, means = zip(*((point[0], point[1]) for point in run["curve"]))
    slope, intercept = np.polyfit(steps, means, 1)
    if slope <= 0:
        return f"{run['arm']}'s curve does not climb on average: it gives no estimate."
    needed = (level - intercept) / slope
    return (
        f"{run['arm']}'s curve climbs {slope * 1e6:.0f} points per million env steps on average"
        f" (least squares): {level:.0f} at about {needed / 1e6:.0f}M env steps if it kept that"
        " slope."
    )


def carracing_section(runs: list[dict], budget: int, figure: str) -> str:
    """docs/results.md's CarRacing section: the held-out curves, the budget, the paper's scale."""
    rows = [
        "| arm | action repeat | training env steps | held-out start | best (at env steps)"
        " | last +- std | env-steps/s (2 cores) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        curve = run["curve"]
        best = max(curve, key=lambda point: point[1])
        repeat = run["arm"].partition("-repeat")[2] or "1"
        rate = run["env_steps"] / run["train_seconds"]
        rows.append(
            f"| {run['arm'].partition('-repeat')[0]} | {repeat} | {run['env_steps']:,}"
            f" | {curve[0][1]:.0f} | {best[1]:.0f} ({best[0] / 1e6:.2f}M)"
            f" | {curve[-1][1]:.0f} +- {curve[-1][2]:.0f} | {rate:,.0f} |"
        )
    best_run = max(runs, key=lambda run: run["best"])
    reached = [run["arm"] for run in runs if run["best"] >= AIM]
    rates = [run["env_steps"] / run["train_seconds"] / 2 for run in runs]  # per core
    core_hours = [PAPER_ENV_STEPS / rate / 3600 for rate in rates]
    reading = (
        f"A held-out centre above {AIM:.0f} was reached by {', '.join(reached)}."
        if reached
        else f"No run's held-out centre reached {AIM:.0f} at this budget"
        f" (the best: {best_run['arm']}, {best_run['best']:.0f})."
    )
    for run in runs:
        if run["best"] < AIM:
            reading += " " + extrapolation(run, AIM)
    return "\n".join(
        [
            "## CarRacing",
            "",
            PAPER_CARRACING,
            "",
            "Here (CarRacing-v3, the authors' protocol by default: whole frame resized to 84x84,"
            " the output rule on the linear output, early stop after more than 20 negative"
            f" rewards from step 0, 1000-step episodes, L2 on the coefficients):"
            f" `envs/carracing.toml`, one seed per arm, {budget / 1e6:g}M env steps per run,"
            " population 32 on one shared track per generation; the search centre scored every"
            " 10 generations on 10 held-out 1000-step tracks. Written by"
            f" `python scripts/bench_learning.py --task carracing --seeds 1 --results"
            " docs/results.md`.",
            "",
            reading,
            "",
            *rows,
            "",
            f"![CarRacing: held-out centre against env steps]({figure})",
            "",
            f"At the paper's scale ({PAPER_ENV_STEPS / 1e6:g}M env steps per run at most) one run"
            f" would cost {min(core_hours):,.0f}-{max(core_hours):,.0f} core-hours at the rates"
            " measured here (the fastest arm to the slowest): a cluster's job"
            " (`cluster/README.md`).",
            "",
        ]
    )


def fmt_steps(steps: int | None) -> str:
    return "never" if steps is None else f"{steps / 1e6:.2f}M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(BENCHES), default="ant")
    parser.add_argument("--budget", type=int, default=None, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per metaheb arm")
    parser.add_argument("--peer-seeds", type=int, default=1, help="seeds of the EvoTorch peer")
    parser.add_argument("--arms", nargs="+", default=None, help="default: every arm of the task")
    parser.add_argument(
        "--action-repeat", type=int, nargs="+", default=None, help="task.action_repeat values"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=str, default=None)
    parser.add_argument(
        "--results", type=Path, default=None, help="carracing: write this page's CarRacing section"
    )
    args = parser.parse_args()
    bench = BENCHES[args.task]
    if args.results and args.task != "carracing":
        parser.error("--results writes the CarRacing section: use it with --task carracing")
    known = [*bench.presets, *bench.peers]
    arms = args.arms or known
    unknown = set(arms) - set(known)
    if unknown:
        parser.error(f"unknown arm {sorted(unknown)} for {args.task}; choose from {known}")
    repeats = args.action_repeat or list(bench.action_repeats)
    if min(repeats) < 1:
        parser.error(f"--action-repeat must be at least 1, got {min(repeats)}")
    budget = args.budget or bench.budget
    out = args.out or ROOT / "runs" / (
        "bench_learning" if args.task == "ant" else f"bench_learning_{args.task}"
    )
    low, goal = (key(bench, level) for level in bench.thresholds)

    runs = []
    for arm in arms:
        for repeat in [1] if arm in bench.peers else repeats:
            name = arm_name(arm, repeat)
            for seed in range(args.peer_seeds if arm in bench.peers else args.seeds):
                if arm in bench.peers:
                    from learning_peer import train_peer  # scripts/ is on sys.path when run

                    result = train_peer(arm, seed, budget, out / f"{arm}-s{seed}", args.workers)
                else:
                    run = train_or_resume(bench, arm, repeat, seed, budget, out, args.workers)
                    result = curve_of(run)
                runs.append(summarise(bench, name, seed, result))
                summary = runs[-1]
                print(
                    f"{name:>16} s{seed}  final {summary['final']:7.2f}"
                    f"  best {summary['best']:7.2f}"
                    f"  to {low} {fmt_steps(summary[f'steps_to_{low}']):>6}"
                    f"  to {goal} {fmt_steps(summary[f'steps_to_{goal}']):>6}"
                    f"  ({summary['env_steps'] / summary['train_seconds']:,.0f} env-steps/s)",
                    flush=True,
                )

    names = list(dict.fromkeys(run["arm"] for run in runs))
    summaries = {name: arm_summary(bench, [r for r in runs if r["arm"] == name]) for name in names}
    print(f"\nheld-out centre, budget {budget / 1e6:g}M env steps per run:")
    reference = summaries.get("hebbian", {}).get(f"median_steps_to_{goal}")
    for name, summary in summaries.items():
        median = summary[f"median_steps_to_{goal}"]
        ratio = f"{median / reference:.2f}x hebbian's" if median and reference else "-"
        print(
            f"{name:>16}: {summary[f'seeds_reaching_{goal}']}/{summary['seeds']} seeds reach"
            f" {goal}, median {fmt_steps(median)} env steps ({ratio}),"
            f" mean last {summary['mean_final']:.2f}"
        )
    curves = [(run["arm"], run["curve"]) for run in runs]
    png = learning_curves(curves, bench.title, threshold=bench.thresholds[-1], ylabel=bench.ylabel)
    atomic_write_bytes(out / "learning.png", png)
    print(f"learning curve: {out / 'learning.png'}")
    if args.results:
        figure_path = args.results.parent / "figures" / "carracing" / "learning.png"
        atomic_write_bytes(figure_path, png)
        link = os.path.relpath(figure_path, args.results.parent)
        page = args.results.read_text() if args.results.exists() else ""
        section = carracing_section(runs, budget, link)
        atomic_write_bytes(args.results, splice_section(page, "CarRacing", section).encode())
        print(f"wrote the CarRacing section of {args.results} and {figure_path}")
    if args.json:
        figures = {"task": args.task, "budget": budget, "arms": summaries, "runs": runs}
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=1).encode())


if __name__ == "__main__":
    main()
