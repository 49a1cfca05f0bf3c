"""Where a generation's figures go: metrics.jsonl, TensorBoard, a progress bar and one line.

The bar (generation, best / mean / std fitness, env-steps/s, ETA) is drawn on stderr when it is
a terminal; the per-generation line goes to ``echo`` always, so logs and tests see it too, and
ends with the held-out centre's mean +- std on the generations that evaluate it.
TensorBoard event files go to ``RUN_DIR/tensorboard`` (``tensorboard --logdir runs/``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from metaheb.runs import RunDirectory

SCALARS = ("best", "mean", "std", "min", "env_steps_per_s", "spread", "nonfinite")


class GenerationLog:
    def __init__(
        self, run: RunDirectory, generations: int, echo: Callable[[str], None], start: int = 0
    ) -> None:
        self.run = run
        self.echo = echo
        self.generations = generations
        self.writer = SummaryWriter(log_dir=str(run.path / "tensorboard"))
        self.bar = tqdm(
            total=generations,
            initial=start,
            unit="gen",
            file=sys.stderr,
            leave=False,
            disable=not sys.stderr.isatty(),
            dynamic_ncols=True,
        )

    def record(self, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        step = record["generation"]
        for key in SCALARS:
            self.writer.add_scalar(
                f"fitness/{key}" if key in ("best", "mean", "std", "min") else f"search/{key}",
                record[key],
                step,
            )
        for name, value in record.get("morphologies", {}).items():
            self.writer.add_scalar(f"morphology/{name}", value, step)
        if "heldout_start" in record:  # the centre before any update, drawn at step -1
            self.writer.add_scalar("heldout/mean", record["heldout_start"]["mean"], step - 1)
        if "heldout" in record:
            for key in ("mean", "std"):
                self.writer.add_scalar(f"heldout/{key}", record["heldout"][key], step)
        self.writer.flush()
        self.bar.set_postfix(
            best=f"{record['best']:.2f}",
            mean=f"{record['mean']:.2f}",
            std=f"{record['std']:.2f}",
            steps_s=f"{record['env_steps_per_s']:,.0f}",
        )
        self.bar.update(1)
        line = (
            f"gen {step + 1:>4}/{self.generations}  best {record['best']:8.3f}  "
            f"mean {record['mean']:8.3f}  env-steps/s {record['env_steps_per_s']:8,.0f}  "
            f"({record['seconds']:.1f} s)"
        )
        if "heldout" in record:
            heldout = record["heldout"]
            line += f"  held-out centre {heldout['mean']:.3f} +- {heldout['std']:.3f}"
        if "merge" in record:
            merge = record["merge"]
            line += f"  merged into {merge['rules']:,} rules ({merge['genome']:,} values)"
            if "heldout" in merge:
                line += f", merged centre {merge['heldout']:.3f}"
        if record["nonfinite"]:
            line += f"  [{record['nonfinite']} non-finite]"
        if self.bar.disable:
            self.echo(line)
        else:
            self.bar.write(line, file=sys.stdout)

    def close(self) -> None:
        self.bar.close()
        self.writer.close()
