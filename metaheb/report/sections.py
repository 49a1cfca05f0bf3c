"""Generated pages that several scripts write: each owns one ``## `` section of a markdown page.

``docs/results.md`` is written whole by ``metaheb results`` (the Ant's claim) and
has a CarRacing section written by ``scripts/bench_learning.py --task carracing``; each keeps the
other's section when it writes its own, so either can be regenerated alone.
"""

from __future__ import annotations


def _bounds(text: str, heading: str) -> tuple[int, int] | None:
    """Where the section under ``## heading`` starts and ends (the next ``## `` or the end)."""
    marker = f"## {heading}\n"
    start = 0 if text.startswith(marker) else text.find(f"\n{marker}") + 1
    if start == 0 and not text.startswith(marker):
        return None
    following = text.find("\n## ", start + len(marker))
    return start, len(text) if following < 0 else following + 1


def section_of(text: str, heading: str) -> str | None:
    """The section under ``## heading`` (with its heading), or None."""
    bounds = _bounds(text, heading)
    return None if bounds is None else text[bounds[0] : bounds[1]]


def splice_section(text: str, heading: str, section: str) -> str:
    """``text`` with its ``## heading`` section replaced by ``section``, or it appended."""
    section = section.rstrip("\n") + "\n"
    bounds = _bounds(text, heading)
    if bounds is None:
        return text.rstrip("\n") + "\n\n" + section if text.strip() else section
    start, end = bounds
    return text[:start] + section + ("\n" + text[end:] if end < len(text) else "")
