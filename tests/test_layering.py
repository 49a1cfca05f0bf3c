"""The design's layering: a module never imports one from a higher layer."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "metaheb"
LAYERS = {
    "errors": 1,
    "interrupts": 1,
    "agent_names": 1,
    "rules": 1,
    "native": 1,
    "update_kernel": 1,
    "encoder_kernel": 1,
    "rational_tanh": 1,
    "modulation": 1,
    "config": 1,
    "seeding": 1,
    "tasks": 1,
    "genome": 2,
    "bottleneck": 2,
    "merge": 2,
    "encoders": 2,
    "networks": 2,
    "runs": 2,
    "run_table": 2,
    "rollout": 3,
    "damage": 3,
    "families": 3,
    "evolve": 4,
    "evaluate": 4,
    "replay": 4,
    "report": 4,
    "sweep": 4,
    "cli": 5,
    "cli_info": 5,
}


def room(module: str) -> str:
    return module.split(".")[1] if module.startswith("metaheb.") else ""


def test_no_module_imports_a_higher_layer():
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        own = parts[1] if len(parts) > 1 and parts[1] != "__init__" else None
        if own is None or own == "__main__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                other = room(name)
                if other and other != own:
                    assert LAYERS[other] <= LAYERS[own], f"{path.name} imports {name}"


def test_every_room_has_a_layer():
    rooms = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or p.is_dir()) and not p.name.startswith("__")
    }
    assert rooms <= set(LAYERS), rooms - set(LAYERS)
