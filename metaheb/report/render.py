"""Blocks (headings, paragraphs, tables, figures) rendered as Markdown and as HTML.

One list of blocks, two renderings, so a report's .md and .html cannot say different things. The
HTML is self-contained: figures are inline PNG data, no script, no stylesheet or font fetched, so
it opens with no network; the Markdown links the same figures as PNG files under figures/.
"""

from __future__ import annotations

import base64
import html

from metaheb.report.blocks import Block


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + value, ""]
        elif kind == "p":
            lines += [value, ""]
        elif kind == "table":
            lines.append("| " + " | ".join(value.header) + " |")
            lines.append("|" + "---|" * len(value.header))
            lines += ["| " + " | ".join(row) + " |" for row in value.rows]
            lines.append("")
        elif kind == "figure":
            lines += [f"![{value.caption}](figures/{value.name})", ""]
    return "\n".join(lines)


STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;"
    "padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}figcaption{font-size:.9em;color:#444}"
)


def to_html(blocks: list[Block]) -> str:
    escape = html.escape
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Robustness report</title>"
        f"<style>{STYLE}</style></head><body>"
    ]
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3", "p"):
            parts.append(f"<{kind}>{escape(value)}</{kind}>")
        elif kind == "table":
            head = "".join(f"<th>{escape(h)}</th>" for h in value.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                for row in value.rows
            )
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
        elif kind == "figure":
            data = base64.b64encode(value.png).decode()
            parts.append(
                f"<figure><img alt='{escape(value.caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{escape(value.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>\n")
    return "\n".join(parts)
