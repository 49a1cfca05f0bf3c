"""Write docs/results.md from a reproduction's report: the damage claim, measured, beside the paper.

Usage: python scripts/reproduce/results.py runs/reproduce/report [--out docs/results.md]

Reads ``report.json`` (every episode, the claim's ratios, differences and recovery windows, each
run's held-out learning curve) and the runs' ``config.toml``, and writes one Markdown page: a
reading generated from the numbers (whichever way they come out), the table beside the paper's
values in a.u. and in metres, the differences of ratios with their intervals and permutation
p-values, the recovery windows, every run's learning curve, the budget and the software. The
report's figures are copied beside it (``docs/figures/reproduce/``), stale ones removed.
Nothing on the page is typed by hand, so ``scripts/reproduce/ant_damage.sh`` regenerates it from
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from summarize import PAPER, summarise  # scripts/reproduce/ is on sys.path when run

from metaheb.agent_names import AGENTS
from metaheb.config import read_toml
from metaheb.errors import UserError
from metaheb.report.blocks import Table, fmt
from metaheb.report.claim import Recovery, recovery_kind
from metaheb.report.claim_document import RECOVERY_HEADER, recovery_row
from metaheb.report.render import to_markdown
from metaheb.runs import atomic_write_bytes

AU_PER_METRE = 1 / 0.0165  # the paper's progress term: metres per control step of 0.0165 s
UNSEEN = "damaged_front_left"
WALKS = 10.0  # metres on every seen body: what "both arms walk" means here (the claim issue)
PACKAGES = ("mujoco", "gymnasium", "torch", "evotorch", "ray", "numpy", "scipy")


def paper_cells(arm: str) -> tuple[str, str]:
    """The paper's unseen-leg figure for an arm, in a.u. and converted to metres."""
    if arm not in PAPER:
        return "-", "-"
    mean, std = (float(x) for x in PAPER[arm].split(" +- "))
    return PAPER[arm], f"{mean / AU_PER_METRE:.1f} +- {std / AU_PER_METRE:.1f}"


def software() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def run_configs(report: dict) -> list[dict]:
    return [
        read_toml(Path(agent["run"]) / "config.toml", "run config") for agent in report["agents"]
    ]


def _ci(value: float | None, interval: list, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    low, high = interval
    return f"{fmt(value, sign=sign)} [{fmt(low, sign=sign)}, {fmt(high, sign=sign)}]"


def ratio_of(report: dict, arm: str) -> dict | None:
    return next(
        (r for r in report["claim"]["ratios"] if r["arm"] == arm and r["unseen"] == UNSEEN), None
    )


def walks(row: dict, seen: list[str]) -> bool:
    """Whether an arm's mean over runs reaches ``WALKS`` metres on every body it trained on."""
    return all(row["bodies"][m][0] >= WALKS for m in seen)


def _runs(count: int) -> str:
    return f"{count} run{'s' * (count != 1)}"


def verdict(report: dict, rows: list[dict]) -> list[str]:
    """The plain reading: do both arms walk, and is the Hebbian ratio above the static one?"""
    by_arm = {row["arm"]: row for row in rows}
    seen = report["agents"][0]["seen"]
    lines = []
    for row in rows:
        bodies = ", ".join(f"{m} {row['bodies'][m][0]:.1f} m" for m in seen)
        lines.append(
            f"{row['arm']} ({_runs(row['runs'])}): on the seen bodies {bodies} (mean over runs): "
            f"{'walks' if walks(row, seen) else 'does not walk'} at least {WALKS:g} m on each."
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
    low, high = difference["interval"]
    p = difference["p_value"]
    numbers = (
        f"Hebbian unseen/seen {_ci(hebbian['ratio'], hebbian['interval'])}, static "
        f"{_ci(static['ratio'], static['interval'])}; difference "
        f"{_ci(difference['difference'], difference['interval'], sign=True)}, permutation p = "
        f"{p:.4f}"
    )
    if low > 0:
        head = "**The paper's shape reproduces at this budget**: the Hebbian arm keeps a larger "
        head += "share of its seen-body distance on the unseen leg than the static arm"
    elif high < 0:
        head = "**The paper's shape is reversed at this budget**: the static arm keeps a larger "
        head += "share of its seen-body distance on the unseen leg than the Hebbian arm"
    else:
        side = "Hebbian" if difference["difference"] > 0 else "static"
        head = "**This budget does not settle the paper's shape**: the difference of ratios "
        head += f"leans {side} but its 95% interval includes zero"
    lines.append(f"{head} ({numbers}).")
    if not all(walks(by_arm[arm], seen) for arm in ("hebbian ABCD_lr", "static")):
        lines.append(
            f"Not both arms walk {WALKS:g} m on every seen body, so this is not yet the paper's "
            "test (how much of a gait survives an unseen leg): that needs arms that walk on the "
            "bodies they were trained on, i.e. a larger budget."
        )
    lines.append(
        "In the paper the Hebbian network walks on the unseen leg about half as far as on the seen "
        "bodies (a ratio near 0.5), and the static one barely at all (68 +- 56 a.u., ~1.1 m)."
    )
    return lines


def recovery_of(entry: dict) -> Recovery:
    """A report.json recovery entry as the claim's own record (its reading is computed anew)."""
    fields = ("arm", "morphology", "level", "ablation_step", "window_starts", "distance")
    walking = entry.get("walking", 0.1)  # reports before units: metres
    return Recovery(*(entry[key] for key in fields), entry["unablated"], walking)


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


def budget_table(report: dict, configs: list[dict]) -> Table:
    evolve, task = configs[0]["evolve"], configs[0]["task"]
    steps = [a["training"]["env_steps"] for a in report["agents"]]
    generations = [a["training"]["generations"] for a in report["agents"]]
    hours = sum(a["training"]["seconds"] for a in report["agents"]) / 3600
    arms = {}
    for agent, config in zip(report["agents"], configs):
        e = config["evolve"]
        settings = f"sigma {e['sigma']}, lr {e['lr']}, init_std {e['init_std']}"
        arms.setdefault(agent["arm"], (settings, []))[1].append(agent["name"])
    rows = [
        [
            "simulator",
            "gymnasium Ant-v5 (MuJoCo), 0.05 s per step",
            "pybullet AntBulletEnv, 0.0165 s",
        ],
        ["searcher", f"{evolve['algorithm']}, population {evolve['popsize']}", "OpenES, 200-500"],
        *[
            [f"{arm} ({_runs(len(names))})", settings, ""]
            for arm, (settings, names) in arms.items()
        ],
        [
            "training episodes",
            f"{task['max_steps']} steps on {' + '.join(task['morphologies'])}",
            "1000 steps, intact + one damaged leg",
        ],
        [
            "budget per run",
            f"{min(steps) / 1e6:.2f}M to {max(steps) / 1e6:.2f}M env steps "
            f"({min(generations)} to {max(generations)} generations)",
            "~60M to ~250M env steps",
        ],
        ["training time", f"{hours:.2f} h of wall time in all ({os.cpu_count()} cores)", ""],
        [
            "report",
            f"each run's agent {report['agent']} ({AGENTS[report['agent']]}), "
            f"{len(report['seeds'])} seeded episodes per cell, "
            f"weights ablated at step {report['agents'][0]['ablation_step']}",
            "",
        ],
        ["software", software(), ""],
    ]
    return Table(["", "this run", "the paper"], rows)


def claim_table(report: dict, rows: list[dict]) -> Table:
    table = []
    for row in rows:
        ratio = ratio_of(report, row["arm"])
        mean, std = row["bodies"][UNSEEN]
        au, metres = paper_cells(row["arm"])
        seen = [row["bodies"][m][0] for m in report["agents"][0]["seen"]]
        table.append(
            [
                row["arm"],
                str(row["runs"]),
                f"{sum(seen) / len(seen):.2f}",
                f"{mean:.2f} +- {std:.2f}",
                f"{mean * AU_PER_METRE:.0f}",
                _ci(ratio["ratio"], ratio["interval"]) if ratio else "n/a",
                au,
                metres,
            ]
        )
    header = [
        "arm",
        "runs",
        "seen bodies, mean (m)",
        "unseen front left (m)",
        "same, a.u. (x60.6)",
        "unseen/seen [95% CI]",
        "paper, unseen (a.u.)",
        "paper, unseen (m)",
    ]
    return Table(header, table)


def bodies_table(report: dict, rows: list[dict]) -> Table:
    seen = set(report["agents"][0]["seen"])
    bodies = list(rows[0]["bodies"])
    levels = [level for level in report["levels"] if level]
    header = [
        "arm",
        *(f"{m} ({'seen' if m in seen else 'unseen'})" for m in bodies),
        *(f"intact, {level:.0%} ablated" for level in levels),
    ]
    return Table(
        header,
        [
            [
                row["arm"],
                *(f"{mean:.2f} +- {std:.2f}" for mean, std in row["bodies"].values()),
                *(f"{row['ablated_intact'][level][0]:.2f}" for level in levels),
            ]
            for row in rows
        ],
    )


def differences_table(report: dict) -> Table:
    return Table(
        ["arm - baseline", "unseen body", "difference of ratios [95% CI]", "permutation p"],
        [
            [
                f"{d['arm']} - {d['baseline']}",
                d["unseen"],
                _ci(d["difference"], d["interval"], sign=True),
                "-" if d["p_value"] is None else f"{d['p_value']:.4f}",
            ]
            for d in report["claim"]["differences"]
        ],
    )


def runs_table(report: dict) -> Table:
    rows = []
    for agent in report["agents"]:
        curve = agent["training"]["heldout"]
        means = [point[1] for point in curve]
        to_walk = next((steps for steps, mean, _ in curve if mean >= WALKS), None)
        rows.append(
            [
                agent["name"],
                agent["arm"],
                f"{agent['training']['env_steps'] / 1e6:.2f}M",
                fmt(means[0]) if means else "-",
                fmt(means[-1]) if means else "-",
                fmt(max(means)) if means else "-",
                "never" if to_walk is None else f"{to_walk / 1e6:.2f}M",
                f"{agent['training']['seconds'] / 60:.0f}",
            ]
        )
    header = ["run", "arm", "env steps", "held-out start (m)", "last (m)", "best (m)"]
    return Table([*header, f"to {WALKS:g} m", "minutes"], rows)


def recovery_table(report: dict) -> Table:
    """The report's own recovery rows (claim_document.recovery_row): intact and unseen leg."""
    recoveries = [recovery_of(r) for r in report["claim"]["recovery"]]
    rows = [recovery_row(r) for r in recoveries if r.morphology in ("intact", UNSEEN)]
    return Table(RECOVERY_HEADER, rows)


def copy_figures(report_dir: Path, figures: Path) -> list[str]:
    """Copy the report's PNGs beside the page; remove any earlier figure no longer made."""
    names = sorted(p.name for p in (report_dir / "figures").glob("*.png"))
    for name in names:
        atomic_write_bytes(figures / name, (report_dir / "figures" / name).read_bytes())
    for stale in figures.glob("*.png"):
        if stale.name not in names:
            stale.unlink()
    return names


def page(report: dict, configs: list[dict], figures: list[str], link: str) -> str:
    rows = summarise(report, UNSEEN)
    steps = report["agents"][0]["max_steps"]
    figure = lambda name, caption: ("p", f"![{caption}]({link}/{name})")  # noqa: E731
    blocks: list[Any] = [
        ("h1", "Results: plastic against static Ants on an unseen damaged leg"),
        (
            "p",
            "The claim (Najarro & Risi, NeurIPS 2020): a quadruped whose Hebbian rules are evolved "
            "on the intact body and one damaged leg keeps walking on an unseen damaged leg "
            "(452 +- 95 a.u.), where a static-weight network evolved the same way does not "
            "(68 +- 56 a.u.); and the Hebbian network recovers after part of its weights is zeroed "
            "mid-episode. The paper's a.u. are pybullet's progress term summed over up to 1000 "
            "steps of 0.0165 s, about 60.6 a.u. per metre. Only ratios compare across simulators.",
        ),
        (
            "p",
            "This page is generated: `bash scripts/reproduce/ant_damage.sh` trains every arm of "
            "`envs/reproduce/*.toml` (resuming any run cut short), reports them "
            "(`runs/reproduce/report/report.{md,html,json}`: every episode, per-run tables, rank "
            "tests) and writes it with `scripts/reproduce/results.py`. How the presets learn to "
            "walk, and the earlier results at smaller budgets, are in `docs/walkers.md`.",
        ),
        ("h2", "Reading"),
        *(("p", line) for line in verdict(report, rows)),
        *(("p", line) for line in recovery_lines(report)),
        ("h2", "The claim beside the paper"),
        ("table", claim_table(report, rows)),
        (
            "p",
            f"Distances are metres walked along x in {steps} steps of 0.05 s ({steps * 0.05:g} "
            "simulated seconds; the paper's episodes last 16.5 s), mean +- std over runs. Ratio: "
            "the unseen front "
            "left leg over the mean of the seen bodies, with a 95% percentile bootstrap over "
            "(run, episode) units. The a.u. column converts at the paper's rate only to show "
            "scale: the two simulators' gaits and time steps differ.",
        ),
        ("table", differences_table(report)),
        ("h2", "Every body and ablation level"),
        ("table", bodies_table(report, rows)),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report folder (with report.json)")
    parser.add_argument("--out", type=Path, default=Path("docs/results.md"))
    args = parser.parse_args()
    source = args.report / "report.json"
    if not source.is_file():
        parser.error(f"{source} does not exist: run metaheb report first")
    report = json.loads(source.read_text())
    if UNSEEN not in report["morphologies"]:
        parser.error(f"the report has no {UNSEEN} body: report runs of envs/reproduce/*.toml")
    try:
        configs = run_configs(report)  # the runs as the report named them: run from its folder
    except UserError as err:
        parser.error(f"{err} (run this from the folder the report was made in)")
    figures_dir = args.out.parent / "figures" / "reproduce"
    figures = copy_figures(args.report, figures_dir)
    link = os.path.relpath(figures_dir, args.out.parent)
    text = page(report, configs, figures, link)
    atomic_write_bytes(args.out, text.encode())
    print(f"wrote {args.out} and {len(figures)} figures in {figures_dir}")


if __name__ == "__main__":
    main()
