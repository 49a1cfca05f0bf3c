"""Benchmark a body family's report: what profiling runs over many bodies costs on this machine.

Reports the given runs twice in one process, on the intact body alone and on every body of a
family (unablated, ``--seeds`` episodes of ``--max-steps`` steps each), and prints each one's
wall time, env steps and env-steps/s, and the ratio of the family's env-steps/s to the intact
body's: near 1 when compiling each body (once per worker) and building its environments cost
little beside the episodes. A short untimed report first starts the Ray workers.

    python scripts/bench_family.py RUN [RUN ...] [--family leg-length] [--seeds 10]
        [--max-steps 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import ray

from metaheb.families import load_family
from metaheb.report import make_report
from metaheb.runs import atomic_write_bytes


def timed_report(runs: list[str], out: Path, **options) -> dict:
    started = time.perf_counter()
    make_report(runs, out, agent="best_center", levels=[0.0], **options)
    seconds = time.perf_counter() - started
    report = json.loads((out / "report.json").read_text())
    steps = sum(sum(cell["steps"]) for agent in report["agents"] for cell in agent["cells"])
    return {
        "seconds": round(seconds, 1),
        "bodies": len(report["morphologies"]),
        "env_steps": steps,
        "env_steps_per_s": round(steps / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--family", default="leg-length")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    options = {"episodes": args.seeds, "max_steps": args.max_steps}
    # One Ray for both reports, started before the clocks: each report then measures its work.
    ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        # Untimed: the workers start and import on the first report's tasks.
        timed_report(args.runs, out / "warm-up", morphologies=["intact"], episodes=1)
        intact = timed_report(args.runs, out / "intact", morphologies=["intact"], **options)
        family = timed_report(args.runs, out / "family", family=args.family, **options)
    ray.shutdown()
    ratio = family["env_steps_per_s"] / intact["env_steps_per_s"]
    bodies = len(load_family(args.family).bodies)
    for name, figures in (("intact", intact), (f"family {args.family}", family)):
        print(
            f"{name:>22}: {figures['bodies']:>3} bodies, {figures['seconds']:7.1f} s, "
            f"{figures['env_steps']:,} env steps, {figures['env_steps_per_s']:,} env-steps/s"
        )
    print(f"family/intact env-steps/s: {ratio:.2f} ({len(args.runs)} runs, {bodies} family bodies)")
    if args.json:
        figures = {"runs": args.runs, "family": args.family, "intact": intact}
        figures.update({"family_report": family, "ratio": round(ratio, 3)})
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=1).encode())


if __name__ == "__main__":
    main()
