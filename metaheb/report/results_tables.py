"""The tables of docs/results.md, in the report's own unit (``Units``: MuJoCo's metres or
pybullet's a.u.), each beside the other unit and the paper's figures where they compare."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path

from metaheb.agent_names import AGENTS
from metaheb.config import read_toml
from metaheb.report.blocks import Table, fmt
from metaheb.report.claim import Recovery
from metaheb.report.claim_document import RECOVERY_HEADER, recovery_row
from metaheb.report.results_summary import PAPER

# pybullet's progress term per metre: 21/22 of the robot's displacement (the floor is one of the
# 22 parts whose mean the potential reads) per control step of 0.0165 s (metaheb.tasks.ant_bullet).
AU_PER_METRE = 21 / 22 / 0.0165
UNSEEN = "front_left_lower_x0.25"
WALKS = 10.0  # metres on every seen body: what "both arms walk" means here (the claim issue)
# The budget per run that scripts/reproduce/ant_damage.sh gives when not told another.
PRESET = Path(str(files("metaheb_envs"))) / "reproduce" / "ant-damage-hebbian.toml"
PACKAGES = ("mujoco", "pybullet", "gymnasium", "torch", "evotorch", "ray", "numpy", "scipy")


@dataclass(frozen=True)
class Units:
    """A report's fitness unit and what it converts to."""

    name: str  # "m" or "a.u."
    per_metre: float
    simulator: str
    sim: str  # the reproduction script's SIM
    page: str  # the page's file name in docs/
    figures: str  # its figures' folder in docs/figures/

    @staticmethod
    def of(report: dict) -> Units:
        if report.get("unit", "m") == "a.u.":
            simulator = "pybullet's Ant (AntBulletEnv-v0), 0.0165 s per step"
            return Units(
                "a.u.", AU_PER_METRE, simulator, "bullet", "results-bullet.md", "reproduce-bullet"
            )
        simulator = "gymnasium Ant-v5 (MuJoCo), 0.05 s per step"
        return Units("m", 1.0, simulator, "mujoco", "results.md", "reproduce")

    def command(self, configs: list[dict]) -> str:
        """The reproduction script's command line for runs like ``configs``: with their budget
        when every run had the same one and it is not the presets'."""
        prefix = "SIM=bullet " if self.sim == "bullet" else ""
        budgets = {config["evolve"]["max_env_steps"] for config in configs}
        preset = read_toml(PRESET, "reproduction preset")["evolve"]["max_env_steps"]
        override = ""
        if len(budgets) == 1 and budgets != {preset}:
            override = f" evolve.max_env_steps={budgets.pop()}"
        return f"{prefix}bash scripts/reproduce/ant_damage.sh{override}"

    @property
    def walks(self) -> float:
        """``WALKS`` metres in this unit."""
        return WALKS * self.per_metre

    def other(self, value: float) -> str:
        """``value`` in the other unit: a.u. for metres, metres for a.u."""
        if self.name == "m":
            return f"{value * AU_PER_METRE:.0f}"
        return f"{value / AU_PER_METRE:.2f}"

    def other_header(self) -> str:
        if self.name == "m":
            return f"same, a.u. (x{AU_PER_METRE:.1f})"
        return f"same, m (/{AU_PER_METRE:.1f})"


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


def ci(value: float | None, interval: list, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    low, high = interval
    return f"{fmt(value, sign=sign)} [{fmt(low, sign=sign)}, {fmt(high, sign=sign)}]"


def ratio_of(report: dict, arm: str) -> dict | None:
    return next(
        (r for r in report["claim"]["ratios"] if r["arm"] == arm and r["unseen"] == UNSEEN), None
    )


def runs_named(count: int) -> str:
    return f"{count} run{'s' * (count != 1)}"


def recovery_of(entry: dict) -> Recovery:
    """A report.json recovery entry as the claim's own record (its reading is computed anew)."""
    fields = ("arm", "morphology", "level", "ablation_step", "window_starts", "distance")
    walking = entry.get("walking", 0.1)  # reports before units: metres
    return Recovery(*(entry[key] for key in fields), entry["unablated"], walking)


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
        ["simulator", Units.of(report).simulator, "pybullet AntBulletEnv, 0.0165 s"],
        ["searcher", f"{evolve['algorithm']}, population {evolve['popsize']}", "OpenES, 200-500"],
        *[
            [f"{arm} ({runs_named(len(names))})", settings, ""]
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


def walks(row: dict, seen: list[str], units: Units) -> bool:
    """Whether an arm's mean over runs reaches ``WALKS`` metres on every body it trained on."""
    return all(row["bodies"][m][0] >= units.walks for m in seen)


def walkers(report: dict, rows: list[dict]) -> set[str]:
    """The arms that walk on every body they trained on: the ones whose ratio means something."""
    seen, units = report["agents"][0]["seen"], Units.of(report)
    return {row["arm"] for row in rows if walks(row, seen, units)}


def claim_table(report: dict, rows: list[dict]) -> Table:
    units = Units.of(report)
    walking = walkers(report, rows)
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
                units.other(mean),
                ("" if row["arm"] in walking else "(no walker) ")
                + (ci(ratio["ratio"], ratio["interval"]) if ratio else "n/a"),
                au,
                metres,
            ]
        )
    header = [
        "arm",
        "runs",
        f"seen bodies, mean ({units.name})",
        f"unseen front left ({units.name})",
        units.other_header(),
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


def differences_table(report: dict, rows: list[dict]) -> Table:
    walking = walkers(report, rows)
    return Table(
        [
            "arm - baseline",
            "unseen body",
            "difference of ratios [95% CI]",
            "permutation p",
            "both walk on their seen bodies",
        ],
        [
            [
                f"{d['arm']} - {d['baseline']}",
                d["unseen"],
                ci(d["difference"], d["interval"], sign=True),
                "-" if d["p_value"] is None else f"{d['p_value']:.4f}",
                "yes" if {d["arm"], d["baseline"]} <= walking else "no",
            ]
            for d in report["claim"]["differences"]
        ],
    )


def runs_table(report: dict) -> Table:
    units = Units.of(report)
    rows = []
    for agent in report["agents"]:
        curve = agent["training"]["heldout"]
        means = [point[1] for point in curve]
        to_walk = next((steps for steps, mean, _ in curve if mean >= units.walks), None)
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
    u = units.name
    header = ["run", "arm", "env steps", f"held-out start ({u})", f"last ({u})", f"best ({u})"]
    return Table([*header, f"to {units.walks:.0f} {u}", "minutes"], rows)


def recovery_table(report: dict) -> Table:
    """The report's own recovery rows (claim_document.recovery_row): intact and unseen leg."""
    recoveries = [recovery_of(r) for r in report["claim"]["recovery"]]
    rows = [recovery_row(r) for r in recoveries if r.morphology in ("intact", UNSEEN)]
    return Table(RECOVERY_HEADER, rows)
