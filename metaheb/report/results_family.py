"""The results page's section on a body family: each arm's robustness profile, area and the
difference between arms, written from a report made with ``metaheb report --family``.

The section is one ``## `` section of the page (``metaheb.report.sections``): ``metaheb results
REPORT --section family`` writes it alone, and the page written whole from the claim's report
keeps it, so the two reports (the claim's, with its ablations; the family's, unablated) can be
regenerated apart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from metaheb.errors import UserError
from metaheb.report.blocks import Table, fmt
from metaheb.report.render import to_markdown
from metaheb.report.sections import splice_section
from metaheb.runs import atomic_write_bytes

FAMILY_SECTION = "Robustness over a body family"


def write_family_section(report: dict, report_dir: Path, out: Path) -> list[str]:
    """Splice the family section of ``report`` into the page ``out``; the lines to print."""
    family = report.get("family")
    if family is None:
        raise UserError(
            f"{report_dir} has no body family: make it with metaheb report ... --family NAME"
        )
    figure = out.parent / "figures" / "family" / f"{family['name']}.png"
    atomic_write_bytes(figure, (report_dir / "figures" / "profile.png").read_bytes())
    link = os.path.relpath(figure, out.parent)
    section = to_markdown(family_blocks(report, link, str(report_dir).rstrip("/")))
    page = out.read_text() if out.is_file() else ""
    atomic_write_bytes(out, splice_section(page, FAMILY_SECTION, section).encode())
    return [f"wrote the section '{FAMILY_SECTION}' of {out} and {figure}"]


def family_blocks(report: dict, figure: str, report_dir: str) -> list[Any]:
    family, unit = report["family"], report["unit"]
    bodies = sum(len(panel["bodies"]) - 1 for panel in family["panels"])
    episodes = len(report["seeds"])
    steps = report["agents"][0]["max_steps"]
    seen = ", ".join(sorted(set(report["agents"][0]["seen"])))
    areas = Table(
        ["arm", "runs", f"area ({unit})", "95% CI", "area / intact [95% CI]"],
        [
            [
                a["arm"],
                str(a["runs"]),
                fmt(a["area"]),
                _interval(a["interval"]),
                f"{fmt(a.get('relative'))} {_interval(a.get('relative_interval', [None, None]))}",
            ]
            for a in family["arms"]
        ],
    )
    blocks: list[Any] = [
        ("h2", FAMILY_SECTION),
        (
            "p",
            f"Each run's agent on the {bodies} bodies of the family `{family['name']}` "
            f"(`envs/families/{family['name']}.toml`) and the intact one, {episodes} episodes "
            f"of {steps} steps per body, no ablation (`{report_dir}`, made by `metaheb report "
            f"... --family {family['name']} --ablation 0`). The runs trained on: {seen} "
            "(ringed in the figure). A profile's area is the mean distance over each panel's "
            "scale range (the intact body at scale 1 included), averaged over the panels; its "
            "interval is a 95% percentile bootstrap over (run, episode) units. Area / intact "
            "divides it by the arm's distance on the intact body (a paired bootstrap): how much "
            "of its own gait an arm keeps across the family, whatever that gait's length.",
        ),
        ("p", f"![robustness profiles, family {family['name']}]({figure})"),
        ("table", areas),
    ]
    if family["differences"]:
        rows = [
            [
                f"{d['arm']} - {d['baseline']}",
                fmt(d["difference"], sign=True),
                _interval(d["interval"], sign=True),
                _reading(d["interval"]),
            ]
            for d in family["differences"]
        ]
        blocks.append(("table", Table(["arm - baseline", "area difference", "95% CI", ""], rows)))
    return blocks


def _interval(bounds: list, sign: bool = False) -> str:
    return f"[{fmt(bounds[0], sign=sign)}, {fmt(bounds[1], sign=sign)}]"


def _reading(bounds: list) -> str:
    low, high = bounds
    if low is None or high is None:
        return "-"
    if low > 0:
        return "the arm walks farther across the family"
    if high < 0:
        return "the baseline walks farther across the family"
    return "no difference resolved"
