"""Draw runs' held-out curves in one figure, one colour per arm (runs equal but the seed).

    python scripts/plot_curves.py RUN [RUN ...] --out figure.png [--title TEXT] [--threshold 10]
        [--ylabel TEXT]

Each run's search centre on its held-out episodes against training env steps (its metrics.jsonl),
the arm read from its config.toml as a report names it (``metaheb.report.grid.arm_label``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metaheb.config import read_toml
from metaheb.report.figures import learning_curves
from metaheb.report.grid import arm_label
from metaheb.runs import atomic_write_bytes, heldout_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default="held-out search centre against env steps")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--ylabel", default="held-out search centre, distance")
    args = parser.parse_args()
    curves = [
        (arm_label(read_toml(run / "config.toml", "run config")), heldout_curve(run).points)
        for run in args.runs
    ]
    atomic_write_bytes(args.out, learning_curves(curves, args.title, args.threshold, args.ylabel))
    print(f"wrote {args.out} ({len(curves)} runs)")


if __name__ == "__main__":
    main()
