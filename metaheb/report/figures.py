"""The report's figures as PNG bytes: a heatmap per agent, recovery curves per arm, and the
runs' learning curves."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

from metaheb.report.grid import CURVE_EVERY, AgentResult


def png_bytes(figure: Figure) -> bytes:
    """A figure as PNG bytes, laid out tight, with no software stamp: same figure, same bytes."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def heatmap(
    result: AgentResult,
    morphologies: list[str],
    levels: list[float],
    scale: tuple[float, float],
) -> bytes:
    """Mean fitness per (morphology, ablation level) of one agent, each cell annotated.

    ``scale`` is the colour map's (low, high), shared by every heatmap of a report.
    """
    means = np.array(
        [[np.mean(result.cell(m, level).fitness) for level in levels] for m in morphologies]
    )
    figure = Figure(figsize=(1.3 * len(levels) + 3.2, 0.45 * len(morphologies) + 1.4))
    axis = figure.subplots()
    image = axis.imshow(means, cmap="viridis", aspect="auto", vmin=scale[0], vmax=scale[1])
    for (row, col), value in np.ndenumerate(means):
        bright = image.norm(value) > 0.6  # dark text on the light end of the colour map
        axis.text(
            col,
            row,
            f"{round(value, 1) + 0.0:.1f}",  # never "-0.0"
            ha="center",
            va="center",
            fontsize=8,
            color="black" if bright else "white",
        )
    axis.set_xticks(range(len(levels)), [f"{level:.0%}" for level in levels])
    seen = result.agent.seen
    axis.set_yticks(
        range(len(morphologies)), [m + (" (seen)" if m in seen else "") for m in morphologies]
    )
    axis.set_xlabel(f"weights ablated at step {result.ablation_step}")
    axis.set_title(f"{result.agent.name} ({result.agent.arm})", fontsize=9)
    figure.colorbar(image, ax=axis, label="fitness (distance)")
    return png_bytes(figure)


def recovery_curves(
    results: list[AgentResult],
    morphologies: list[str],
    levels: list[float],
    title: str,
    distance: tuple[float, float],
) -> bytes:
    """Distance walked over the episode, one panel per morphology, one line per ablation level.

    Averaged over the arm's runs and the report's seeds; the dashed line marks the ablation step.
    ``distance`` is the y-range, shared by every arm's figure of a report.
    """
    columns = min(len(morphologies), 3)
    rows = -(-len(morphologies) // columns)
    figure = Figure(figsize=(4 * columns, 2.8 * rows))
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for axis, morphology in zip(axes.flat, morphologies):
        for level in levels:
            curve = np.mean([r.cell(morphology, level).curve for r in results], axis=0)
            axis.plot(np.arange(len(curve)) * CURVE_EVERY, curve, label=f"{level:.0%} ablated")
        axis.axvline(results[0].ablation_step, color="red", linestyle="--", linewidth=1)
        seen = " (seen)" if morphology in results[0].agent.seen else " (unseen)"
        axis.set_title(morphology + seen, fontsize=9)
        axis.set_xlabel("step")
        axis.set_ylim(*distance)
    for axis in axes[:, 0]:
        axis.set_ylabel("distance walked")
    for axis in list(axes.flat)[len(morphologies) :]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    return png_bytes(figure)


def learning_curves(
    runs: list[tuple[str, list[tuple[int, float, float]]]],
    title: str,
    threshold: float | None = None,
    ylabel: str = "held-out search centre, distance",
) -> bytes:
    """Each run's held-out search centre against training env steps, one colour per arm.

    ``runs`` holds (arm, points) with points (env steps, mean, std) as ``runs.heldout_curve``
    gives them; ``threshold`` draws a dashed line at that distance (e.g. the 10 m of a walker).
    """
    figure = Figure(figsize=(7, 4.2))
    axis = figure.subplots()
    colours: dict[str, str] = {}
    for arm, points in runs:
        first = arm not in colours
        colour = colours.setdefault(arm, f"C{len(colours) % 10}")
        steps = [point[0] / 1e6 for point in points]
        means = [point[1] for point in points]
        axis.plot(steps, means, marker=".", color=colour, alpha=0.8, label=arm if first else None)
    if threshold is not None:
        axis.axhline(threshold, color="black", linewidth=0.6, linestyle="--")
    axis.set_xlim(left=0)
    axis.set_xlabel("env steps (millions, training episodes only)")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    if colours:
        axis.legend(fontsize=8)
    return png_bytes(figure)
