"""Replay one agent's episode: its fitness, an mp4 of it, and a figure of its weights over time.

Video: each frame is the task's own (``task.frames``: a camera following a MuJoCo body, or the
environment's rendering) and carries the step and the fitness so far; imageio's ffmpeg plugin
writes the mp4 (no system ffmpeg needed). The weight figure shows, per layer, the mean |w| over
the episode and the distribution of the weights at a few moments, with the ablation step marked.
Files are written to a temporary name and renamed, so an interrupted replay leaves nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metaheb.config import TaskConfig
from metaheb.evaluate import agent_setup
from metaheb.rollout import BatchResult, WeightStats, rollout_batch
from metaheb.runs import Agent
from metaheb.tasks import Score
from metaheb.tasks.base import FrameSource


@dataclass
class Replay:
    fitness: float
    steps: int
    traces: list[WeightStats]
    task: TaskConfig
    frames: int = 0


def replay_agent(
    agent: Agent,
    overrides: list[str],
    seed: int,
    video: Path | None = None,
    size: tuple[int, int] = (480, 640),
) -> Replay:
    """One episode of the agent on the first morphology of its (overridden) task."""
    task, network = agent_setup(agent, overrides)
    config = task.config
    morphology = config.morphologies[0]
    writer = _VideoWriter(video, task.frames(size), task.fps) if video else None
    try:
        result: BatchResult = rollout_batch(
            task,
            network,
            torch.from_numpy(agent.genome)[None],
            [seed],
            morphology,
            trace_every=5,
            on_step=writer.capture if writer else None,
        )
        frames = writer.finish() if writer else 0
    except BaseException:
        if writer:
            writer.abort()
        raise
    return Replay(float(result.fitness[0]), int(result.steps[0]), result.traces, config, frames)


class _VideoWriter:
    """Records the single agent's env after each step into an mp4, atomically."""

    def __init__(self, path: Path, frames: FrameSource, fps: float) -> None:
        import imageio.v2 as imageio

        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp.mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = imageio.get_writer(self.tmp, fps=fps, codec="libx264", macro_block_size=1)
        self.source = frames
        self.frames = 0

    def capture(self, step: int, agents: np.ndarray, envs: list, score: Score) -> None:
        if not len(envs):
            return
        caption = f"step {step + 1}   fitness {score.fitness[agents[0]]:+.2f}"
        self.writer.append_data(_overlay(self.source.frame(envs[0]), caption))
        self.frames += 1

    def finish(self) -> int:
        self.writer.close()
        self.source.close()
        os.replace(self.tmp, self.path)
        return self.frames

    def abort(self) -> None:
        self.writer.close()
        self.source.close()
        self.tmp.unlink(missing_ok=True)


def _overlay(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 8 + 7 * len(text), 22), fill=(0, 0, 0))
    draw.text((6, 5), text, fill=(255, 255, 255))
    return np.asarray(image)


def plot_traces(replay: Replay, path: Path) -> None:
    """Per layer: mean |w| over the episode, and weight spread at a few moments; with
    modulation, a third panel of m_t, the factor of every update."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([t.step for t in replay.traces])
    mean_abs = np.stack([t.mean_abs[:, 0] for t in replay.traces])  # (records, layers)
    std = np.stack([t.std[:, 0] for t in replay.traces])
    modulated = replay.traces[0].modulation is not None
    figure, axes = plt.subplots(1, 3 if modulated else 2, figsize=(15 if modulated else 10, 3.6))
    left, right = axes[:2]
    if modulated:
        modulation = np.array([t.modulation[0] for t in replay.traces])
        axes[2].plot(steps, modulation, color="black", label="m_t (last update)")
        axes[2].axhline(0.0, color="grey", linewidth=0.5)
        axes[2].set_ylabel("modulation m_t")
    for layer in range(mean_abs.shape[1]):
        left.plot(steps, mean_abs[:, layer], label=f"layer {layer + 1}")
        right.fill_between(
            steps, -std[:, layer], std[:, layer], alpha=0.25, label=f"layer {layer + 1} (+-1 std)"
        )
    for axis in axes:
        if replay.task.ablation_fraction > 0:
            axis.axvline(
                replay.task.ablation_step,
                color="red",
                linestyle="--",
                label=f"ablation {replay.task.ablation_fraction:.0%}",
            )
        axis.set_xlabel("step")
        axis.legend(fontsize=7)
    left.set_ylabel("mean |w|")
    right.set_ylabel("weight distribution")
    figure.suptitle(
        f"{replay.task.morphologies[0]}: fitness {replay.fitness:.2f} in {replay.steps} steps"
    )
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    os.replace(tmp, path)
