"""A reproduction report summarised: per arm, mean +- std over runs, per body, seen and unseen.

``markdown`` gives one Markdown table (what docs/results.md quotes): each arm's fitness on
every body at 0% ablation, the unseen/seen ratio (the held-out front left leg over the mean of the
seen bodies) with the report's 95% bootstrap interval, and the intact body after each ablation
level, next to the paper's figures for the unseen leg; ``differences`` each plastic arm's
difference of ratios against its baseline, with its interval and permutation p-value
(``metaheb/report/claim.py``).

The ratio is printed only for an arm that walks on the bodies it was trained on (on each, a mean
above its own std): over a seen mean near zero it would be noise divided by noise. The JSON keeps
it either way, with ``walks_on_seen``.
"""

from __future__ import annotations

# Najarro & Risi (2020), quadruped, unseen damaged leg (their simulator's distance units).
PAPER = {"hebbian ABCD_lr": "452 +- 95", "static": "68 +- 56"}


def summarise(report: dict, unseen: str) -> list[dict]:
    rows = []
    seen = set(report["agents"][0]["seen"])
    ratios = {r["arm"]: r for r in report["claim"]["ratios"] if r["unseen"] == unseen}
    for arm in report["arms"]:
        cells = {(c["morphology"], c["level"]): c for c in arm["cells"]}
        intact = {m: cells[m, 0.0] for m in report["morphologies"]}
        seen_mean = sum(intact[m]["mean"] for m in intact if m in seen) / len(seen)
        walks = all(intact[m]["mean"] > max(intact[m]["std"], 0.0) for m in seen)
        unseen_mean = intact[unseen]["mean"]
        rows.append(
            {
                "arm": arm["arm"],
                "runs": len(arm["runs"]),
                "bodies": {m: (c["mean"], c["std"]) for m, c in intact.items()},
                "unseen_over_seen": unseen_mean / seen_mean if seen_mean else None,
                "interval": ratios[arm["arm"]]["interval"] if arm["arm"] in ratios else None,
                "walks_on_seen": walks,
                "ablated_intact": {
                    level: (cells["intact", level]["mean"], cells["intact", level]["std"])
                    for level in report["levels"]
                },
            }
        )
    return rows


def markdown(report: dict, rows: list[dict]) -> str:
    seen = set(report["agents"][0]["seen"])
    bodies = [f"{m} ({'seen' if m in seen else 'unseen'})" for m in report["morphologies"]]
    levels = [f"intact, {level:.0%} ablated" for level in report["levels"][1:]]
    header = [
        "arm",
        "runs",
        *bodies,
        "unseen/seen (front left / mean seen) [95% CI]",
        *levels,
        "paper, unseen leg",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ratio = row["unseen_over_seen"]
        cells = [
            row["arm"],
            str(row["runs"]),
            *(f"{mean:.2f} +- {std:.2f}" for mean, std in row["bodies"].values()),
            _ratio(ratio, row["interval"]) if row["walks_on_seen"] and ratio is not None else "n/a",
            *(f"{m:.2f} +- {s:.2f}" for level, (m, s) in row["ablated_intact"].items() if level),
            PAPER.get(row["arm"], "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratio(value: float, interval: list | None) -> str:
    if not interval or None in interval:
        return f"{value:.2f}"
    return f"{value:.2f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def differences(report: dict, unseen: str) -> str:
    """Each compared pair's difference of unseen/seen ratios, as the report computed it."""
    lines = ["| arm - baseline | difference of ratios [95% CI] | permutation p |", "|---|---|---|"]
    for d in report["claim"]["differences"]:
        if d["unseen"] != unseen:
            continue
        value = "n/a" if d["difference"] is None else _ratio(d["difference"], d["interval"])
        p = "-" if d["p_value"] is None else f"{d['p_value']:.4f}"
        lines.append(f"| {d['arm']} - {d['baseline']} | {value} | {p} |")
    return "\n".join(lines)
