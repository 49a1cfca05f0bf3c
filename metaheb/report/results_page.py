"""docs/results.md from a reproduction's report: the damage claim, measured, beside the paper.

``metaheb results runs/reproduce/report --out docs/results.md`` reads ``report.json`` (every
episode, the claim's ratios, differences and recovery windows, each run's held-out learning curve)
and the runs' ``config.toml``, and writes one Markdown page: the protocol, a reading generated
from the numbers (whichever way they come out), the table beside the paper's values in a.u. and
in metres, the differences of ratios with their intervals and permutation p-values, the recovery
windows, every run's learning curve, the budget and the software. The report's figures are copied
beside it (``docs/figures/reproduce/``, ``reproduce-bullet/`` for a pybullet report), stale ones
removed. Nothing on the page is typed by hand, so ``scripts/reproduce/ant_damage.sh`` regenerates
it from nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from metaheb.config import read_run_config
from metaheb.errors import UserError
from metaheb.report.claim import recovery_kind
from metaheb.report.render import to_markdown
from metaheb.report.results_family import FAMILY_SECTION
from metaheb.report.results_summary import summarise
from metaheb.report.results_tables import (
    UNSEEN,
    Units,
    bodies_table,
    budget_table,
    ci,
    claim_table,
    differences_table,
    ratio_of,
    recovery_of,
    recovery_table,
    runs_named,
    runs_table,
    walks,
)
from metaheb.report.sections import section_of, splice_section
from metaheb.runs import atomic_write_bytes


def run_configs(report: dict) -> list[dict]:
    return [read_run_config(Path(agent["run"])) for agent in report["agents"]]


def protocol_lines(configs: list[dict], link: str, folder: Path) -> list[Any]:
    """Which bodies the runs trained on and how their fitness combined them, read from the runs'
    configs, with the leg correction and the picture of the legs where it is beside the page
    (``scripts/draw_ant_legs.py`` draws it)."""
    seen = sorted({body for config in configs for body in config["task"]["morphologies"]})
    combine = sorted({config["task"].get("morphology_fitness", "mean") for config in configs})
    legs_figure = os.path.normpath(os.path.join(link, "..", "ant-legs.png"))
    fitness = {
        "mean": "the mean over them, as the paper",
        "min": "the minimum over them, a deviation from the paper's mean: under the mean the "
        'intact body won and the damaged one was given up (`docs/walkers.md`, "Both seen '
        'bodies")',
    }
    return [
        (
            "p",
            f"Trained on {', '.join(f'`{body}`' for body in seen)}; fitness "
            f"{'; '.join(fitness[c] for c in combine)}. Bodies are named by where their leg sits "
            f"when the Ant walks along +x, read from the MJCF's geometry: the seen damage is the "
            f"front right lower leg (`fourth_ankle_geom`) shortened to a quarter, as the paper's; "
            f"{UNSEEN}, its mirror image across the walking axis (`left_ankle_geom`), is held out, "
            "as in the paper, and the two back legs are further unseen bodies.",
        ),
        *(
            [("p", f"![The Ant from above, each leg named]({legs_figure})")]
            if (folder / legs_figure).is_file()
            else []
        ),
        (
            "p",
            "Leg correction: until 2026-12-07 every reproduction trained on a back leg (the body "
            "then called `damaged_front_right`, named after the MJCF's body `front_right_leg`, "
            "which sits at -x) and tested on the front left, which is not the paper's test. That "
            "page read the paper's shape as reversed; it is kept, labelled, in `docs/walkers.md` "
            '("History: the wrong leg").',
        ),
    ]


def verdict(report: dict, rows: list[dict]) -> list[str]:
    """The plain reading: do both arms walk, and is the Hebbian ratio above the static one?"""
    by_arm = {row["arm"]: row for row in rows}
    seen = report["agents"][0]["seen"]
    units = Units.of(report)
    walk = f"{units.walks:.0f} {units.name}" + (" (10 m)" if units.name != "m" else "")
    lines = []
    for row in rows:
        bodies = ", ".join(f"{m} {row['bodies'][m][0]:.1f} {units.name}" for m in seen)
        lines.append(
            f"{row['arm']} ({runs_named(row['runs'])}): on the seen bodies {bodies} (mean over "
            f"runs): {'walks' if walks(row, seen, units) else 'does not walk'} at least {walk} "
            "on each."
        )
    difference = next(
        (
            d
            for d in report["claim"]["differences"]
            if d["unseen"] == UNSEEN and (d["arm"], d["baseline"]) == ("hebbian ABCD_lr", "static")
        ),
        None,
    )
    hebbian, static = ratio_of(report, "hebbian ABCD_lr"), ratio_of(report, "static")
    if not (difference and hebbian and static) or difference["difference"] is None:
        lines.append(
            "**The claim cannot be read from this report**: the unseen/seen ratio needs both "
            "the Hebbian and the static arm, each moving forward on its seen bodies."
        )
        return lines
    p = difference["p_value"]
    numbers = (
        f"Hebbian unseen/seen {ci(hebbian['ratio'], hebbian['interval'])}, static "
        f"{ci(static['ratio'], static['interval'])}; difference "
        f"{ci(difference['difference'], difference['interval'], sign=True)}, permutation p = "
        f"{p:.4f}"
    )
    walking = all(walks(by_arm[arm], seen, units) for arm in ("hebbian ABCD_lr", "static"))
    head = shape_reading(walking, difference, walk)
    lines.append(f"{head} ({numbers}).")
    if not walking:
        lines.append(
            "The test (how much of a gait survives an unseen leg) needs arms that walk on the "
            "bodies they were trained on, i.e. a larger budget."
        )
    lines.append(
        "In the paper the Hebbian network walks on the unseen leg about half as far as on the seen "
        "bodies (a ratio near 0.5), and the static one barely at all (68 +- 56 a.u., ~1.2 m)."
    )
    return lines


def shape_reading(walking: bool, difference: dict, walk: str) -> str:
    """The bold head of the reading: a shape is claimed only when both arms walk, and then only
    the side the difference's 95% interval lies on."""
    low, high = difference["interval"]
    if not walking:
        # With seen distances near zero a ratio is mostly noise: no shape is claimed either way.
        head = f"**This budget does not make the paper's test**: not both arms walk {walk} on "
        head += "every seen body, so their ratios say as much about how little they walk as about "
        return head + "the damage"
    if low > 0:
        head = "**The paper's shape reproduces at this budget**: the Hebbian arm keeps a larger "
        return head + "share of its seen-body distance on the unseen leg than the static arm"
    if high < 0:
        head = "**The paper's shape is reversed at this budget**: the static arm keeps a larger "
        return head + "share of its seen-body distance on the unseen leg than the Hebbian arm"
    side = "Hebbian" if difference["difference"] > 0 else "static"
    head = "**This budget does not settle the paper's shape**: the difference of ratios "
    return head + f"leans {side} but its 95% interval includes zero"


def recovery_lines(report: dict) -> list[str]:
    """Per arm, how the intact body reads after each ablation level (``claim.recovery_kind``)."""
    lines = []
    for arm in report["arms"]:
        kinds = [
            f"{r['level']:.0%} {recovery_kind(recovery_of(r))}"
            for r in report["claim"]["recovery"]
            if r["arm"] == arm["arm"] and r["morphology"] == "intact"
        ]
        if kinds:
            lines.append(f"{arm['arm']}, intact body: " + ", ".join(kinds) + ".")
    return lines


def copy_figures(report_dir: Path, figures: Path) -> list[str]:
    """Copy the report's PNGs beside the page; remove any earlier figure no longer made."""
    names = sorted(p.name for p in (report_dir / "figures").glob("*.png"))
    for name in names:
        atomic_write_bytes(figures / name, (report_dir / "figures" / name).read_bytes())
    for stale in figures.glob("*.png"):
        if stale.name not in names:
            stale.unlink()
    return names


def other_page(units: Units, folder: Path) -> list[tuple[str, str]]:
    """A line linking the same claim in the other simulator, when its page is beside this one."""
    pages = {"results.md": "gymnasium's MuJoCo Ant", "results-bullet.md": "pybullet's Ant"}
    other = next(name for name in pages if name != units.page)
    if not (folder / other).is_file():
        return []
    return [("p", f"The same protocol in {pages[other]}: [{other}]({other}).")]


BULLET_SECTION = "In pybullet's Ant, the paper's simulator"
# Sections of the MuJoCo page that others write: the pybullet reproduction's summary (this script,
# from a pybullet report), the CarRacing curves (scripts/bench_learning.py) and the body family's
# profiles (metaheb results --section family).
KEPT_SECTIONS = (BULLET_SECTION, "CarRacing", FAMILY_SECTION)


def bullet_section(report: dict, configs: list[dict], page_name: str) -> str:
    """The MuJoCo page's short section on the same claim in pybullet's Ant, in a.u."""
    rows = summarise(report, UNSEEN)
    budget = next(row for row in budget_table(report, configs).rows if row[0] == "budget per run")
    blocks: list[Any] = [
        ("h2", BULLET_SECTION),
        (
            "p",
            "The same protocol on pybullet's AntBulletEnv-v0 (0.0165 s per step, fitness the "
            "authors' progress term in a.u., next to the paper's numbers directly), at "
            f"{budget[1]} per run: every table and figure in [{page_name}]({page_name}) "
            f"(`{Units.of(report).command(configs)}`).",
        ),
        *(("p", line) for line in verdict(report, rows)),
        ("table", claim_table(report, rows)),
    ]
    return to_markdown(blocks)


def page(
    report: dict,
    configs: list[dict],
    figures: list[str],
    link: str,
    folder: Path = Path("docs"),
    report_dir: str = "runs/reproduce/report",
) -> str:
    """The whole page, in the report's unit: its sections in reading order."""
    rows = summarise(report, UNSEEN)
    figure = lambda name, caption: ("p", f"![{caption}]({link}/{name})")  # noqa: E731
    blocks: list[Any] = [
        *introduction(report, configs, folder, report_dir),
        ("h2", "The protocol"),
        *protocol_lines(configs, link, folder),
        ("h2", "Reading"),
        *(("p", line) for line in verdict(report, rows)),
        *(("p", line) for line in recovery_lines(report)),
        *claim_blocks(report, rows),
        ("h2", "Learning curves"),
        ("table", runs_table(report)),
    ]
    if "learning.png" in figures:
        blocks.append(figure("learning.png", "held-out centre against env steps, every run"))
    blocks += [
        ("h2", "Recovery after ablation"),
        (
            "p",
            "Distance walked in the 100-step windows just before and just after the ablation "
            "step, and in the last window: ablated / unablated, mean over runs and episodes. "
            "Insensitive: no window loses 10%; re-learning: the window after loses it and the "
            "last window wins back at least half; lasting damage: otherwise.",
        ),
        ("table", recovery_table(report)),
        *(figure(n, n.removesuffix(".png")) for n in figures if n.startswith("recovery-")),
        ("h2", "Damage heatmaps"),
        *(figure(n, n.removesuffix(".png")) for n in figures if n.startswith("heatmap-")),
        ("h2", "Budget and software"),
        ("table", budget_table(report, configs)),
    ]
    return to_markdown(blocks)


def introduction(report: dict, configs: list[dict], folder: Path, report_dir: str) -> list[Any]:
    """The title, the paper's claim, and how the page was made."""
    units = Units.of(report)
    return [
        ("h1", "Results: plastic against static Ants on an unseen damaged leg"),
        (
            "p",
            "The claim (Najarro & Risi, NeurIPS 2020): a quadruped whose Hebbian rules are evolved "
            "on the intact body and one damaged leg keeps walking on an unseen damaged leg "
            "(452 +- 95 a.u.), where a static-weight network evolved the same way does not "
            "(68 +- 56 a.u.); and the Hebbian network recovers after part of its weights is zeroed "
            "mid-episode. The paper's a.u. are pybullet's progress term summed over up to 1000 "
            "steps of 0.0165 s, about 57.9 a.u. per metre (21/22 of a metre per 0.0165 s: the "
            "floor is one of the 22 parts whose mean position the progress reads). Only ratios "
            "compare across simulators.",
        ),
        (
            "p",
            f"This page is generated: `{units.command(configs)}` trains every arm of "
            f"`envs/reproduce/*.toml` in {units.simulator} (resuming any run cut short), reports "
            f"them (`{report_dir}/report.{{md,html,json}}`: every episode, per-run tables, "
            "rank tests) and writes it with `metaheb results`. How the presets learn "
            "to walk, and the earlier results at smaller budgets, are in `docs/walkers.md`.",
        ),
        *other_page(units, folder),
    ]


def claim_blocks(report: dict, rows: list[dict]) -> list[Any]:
    """The claim beside the paper, the differences of ratios, and every body's distances."""
    units = Units.of(report)
    steps = report["agents"][0]["max_steps"]
    if units.name == "m":
        unit_text = f"Distances are metres walked along x in {steps} steps of 0.05 s "
        unit_text += f"({steps * 0.05:g} simulated seconds; the paper's episodes last 16.5 s)"
        other = "The a.u. column converts at the paper's rate only to show scale: the two "
        other += "simulators' gaits and time steps differ."
    else:
        unit_text = "Distances are pybullet's progress term summed (a.u., the paper's unit) "
        unit_text += f"over {steps} steps of 0.0165 s ({steps * 0.0165:g} simulated seconds)"
        other = "In the paper's own simulator and unit, the a.u. compare with the paper's directly."
    return [
        ("h2", "The claim beside the paper"),
        ("table", claim_table(report, rows)),
        (
            "p",
            f"{unit_text}, mean +- std over runs. Ratio: the unseen front left leg over the mean "
            "of the seen bodies, with a 95% percentile bootstrap over (run, episode) units. "
            f"{other}",
        ),
        ("table", differences_table(report, rows)),
        (
            "p",
            f"(no walker): the arm does not walk {units.walks:.0f} {units.name} on every body "
            "it trained on, so its ratio says as much about how little it walks as about the "
            "damage (with seen distances near zero it is noise); the "
            "differences that involve such an arm are marked in the last column.",
        ),
        ("h2", "Every body and ablation level"),
        ("table", bodies_table(report, rows)),
    ]


def write_results(report_dir: Path, out: Path, summary: Path | None = None) -> list[str]:
    """Write the page for the report in ``report_dir`` to ``out`` (a pybullet report also writes
    its short section into ``summary``, default results.md beside ``out``); the lines to print."""
    source = report_dir / "report.json"
    if not source.is_file():
        raise UserError(f"{source} does not exist: run metaheb report first")
    report = json.loads(source.read_text())
    if UNSEEN not in report["morphologies"]:
        raise UserError(f"the report has no {UNSEEN} body: report runs of envs/reproduce/*.toml")
    try:
        configs = run_configs(report)  # the runs as the report named them: run from its folder
    except UserError as err:
        raise UserError(f"{err} (run this from the folder the report was made in)") from None
    units = Units.of(report)
    figures_dir = out.parent / "figures" / units.figures
    figures = copy_figures(report_dir, figures_dir)
    link = os.path.relpath(figures_dir, out.parent)
    text = page(report, configs, figures, link, out.parent, str(report_dir).rstrip("/"))
    if units.name == "m":
        earlier = out.read_text() if out.is_file() else ""
        for heading in KEPT_SECTIONS:  # written by others: kept as they are
            kept = section_of(earlier, heading)
            if kept:
                text = splice_section(text, heading, kept)
    atomic_write_bytes(out, text.encode())
    lines = [f"wrote {out} and {len(figures)} figures in {figures_dir}"]
    if units.name != "m":
        summary = summary or out.parent / "results.md"
        earlier = summary.read_text() if summary.is_file() else ""
        section = bullet_section(report, configs, os.path.relpath(out, summary.parent))
        atomic_write_bytes(summary, splice_section(earlier, BULLET_SECTION, section).encode())
        lines.append(f"wrote the section '{BULLET_SECTION}' of {summary}")
    return lines
