"""Summarise a reproduction report: per arm, mean +- std over runs, per body, seen and unseen.

Usage: python scripts/reproduce/summarize.py runs/reproduce/report/report.json [--json PATH]

Prints the tables of ``metaheb.report.results_summary``: each arm on every body at 0% ablation,
the unseen/seen ratio with the report's 95% bootstrap interval, the intact body after each
ablation level beside the paper's unseen-leg figures, and each plastic arm's difference of ratios
against its baseline. ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from metaheb.report.results_summary import differences, markdown, summarise
from metaheb.report.results_tables import UNSEEN
from metaheb.runs import atomic_write_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--json", type=Path, help="Write the summary as JSON here.")
    parser.add_argument("--unseen", default=UNSEEN, help="The held-out body of the ratio.")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    if args.unseen not in report["morphologies"]:
        parser.error(f"--unseen {args.unseen!r} is not among {report['morphologies']}")
    rows = summarise(report, args.unseen)
    print(markdown(report, rows))
    print()
    print(differences(report, args.unseen))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(rows, indent=1).encode())


if __name__ == "__main__":
    main()
