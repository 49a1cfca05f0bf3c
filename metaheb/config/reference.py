"""Each config key's default, type, allowed values and meaning: what ``metaheb config`` prints.

The text is read from the sections' own declarations (``sections.py``: each key's type, range and
``Doc``), so it cannot drift from what the config accepts. It is printed as TOML, each key under
its meaning, so that ``metaheb config > my.toml`` is a config file of every default.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tomli_w
from pydantic import TypeAdapter

from metaheb.config.sections import SEARCHERS, SECTIONS, TASK_DEFAULTS
from metaheb.errors import UserError
from metaheb.rules import RULES


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}".replace(",", "_")


def _kind(schema: dict[str, Any]) -> str:
    """A JSON-schema property as a short phrase: its type and the values it allows."""
    if "anyOf" in schema:
        kinds = [_kind(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds)
    if "enum" in schema:
        return "one of: " + ", ".join(map(str, schema["enum"]))
    if schema.get("type") == "array":
        size = f", at least {schema['minItems']}" if "minItems" in schema else ""
        return f"list of ({_kind(schema.get('items', {}))}){size}"
    words = {"integer": "integer", "number": "number", "string": "text", "boolean": "true/false"}
    kind = words.get(schema.get("type", ""), schema.get("type", "value"))
    bounds = [
        f"{sign} {_number(schema[key])}"
        for key, sign in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        )
        if key in schema
    ]
    if len(bounds) == 2 and "minimum" in schema and "maximum" in schema:
        bounds = [f"{_number(schema['minimum'])}..{_number(schema['maximum'])}"]
    if "pattern" in schema:
        bounds.append("a plain name (letters, digits, . _ + -)")
    return ", ".join([kind, *bounds]) if bounds else kind


def _toml(name: str, value: Any) -> str:
    """``name = value`` on one line (a list inline, as a config file would write it)."""
    if isinstance(value, list):
        items = (tomli_w.dumps({"v": item}).strip().removeprefix("v = ") for item in value)
        return f"{name} = [{', '.join(items)}]"
    return tomli_w.dumps({name: value}).strip()


# Keys whose choices are a table: each choice printed with what it is.
CHOICES: dict[tuple[str, str], dict[str, str]] = {
    ("evolve", "algorithm"): {name: searcher.paper for name, searcher in SEARCHERS.items()},
    ("network", "rule"): {name: f"dw = {rule.equation}" for name, rule in RULES.items()},
}


def _default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def section_reference(name: str) -> str:
    """One section's keys as commented TOML: each key's meaning and kind above its default."""
    cls = SECTIONS[name]
    properties = TypeAdapter(cls).json_schema()["properties"]
    lines = [f"[{name}]"]
    for field in dataclasses.fields(cls):
        schema = properties[field.name]
        lines.append(f"# {schema.get('description', '')} ({_kind(schema)})")
        for choice, what in CHOICES.get((name, field.name), {}).items():
            lines.append(f"#   {choice}: {what}")
        default = _default(field)
        if default is None:  # a task key unset means the task's own value
            own = ", ".join(f"{task} {value[field.name]}" for task, value in TASK_DEFAULTS.items())
            lines.append(f"# {field.name} = (unset: {own})")
        else:
            lines.append(_toml(field.name, default))
    return "\n".join(lines)


def reference(section: str | None = None) -> str:
    """Every section's keys (or ``section``'s): a TOML file of the defaults, each key explained."""
    if section is not None and section not in SECTIONS:
        raise UserError(f"unknown config section {section!r}; known: {', '.join(SECTIONS)}")
    names = [section] if section else list(SECTIONS)
    return "\n\n".join(section_reference(name) for name in names) + "\n"
