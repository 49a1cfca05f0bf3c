"""Checkpoints that resume a run exactly, loadable with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors, numbers and strings: the number of finished generations, the
best fitness and the best held-out score so far (absent, -inf, in checkpoints of earlier
versions), the searcher's state and every random generator's state. The searcher's state is read
generically: every tensor and number reachable from the searcher through its attributes, dicts
and tuples (EvoTorch's CMA-ES matrices and paths, PGPE's distribution and ClipUp velocity,
SNES's distribution, metaheb's OpenES state), keyed by its path, and written back along the same
paths; PGPE and SNES also keep their last evaluated population, whose gradient they take at the
start of the next step. The problem's generator, which EvoTorch's searchers sample from, is
saved beside it, so the next generation draws what an uninterrupted run would have drawn.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from evotorch import Problem, SolutionBatch
from evotorch.algorithms.distributed.gaussian import GaussianSearchAlgorithm
from evotorch.algorithms.searchalgorithm import SearchAlgorithm

from metaheb.errors import UserError
from metaheb.runs import atomic_write_bytes

# Links back to the problem, the population (resampled every step), hooks and cached status.
SKIPPED = ("_problem", "_population", "_hook", "_LazyReporter", "_first_step_datetime", "config")
CHECKPOINT_VERSION = 1


def _owned(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in ("evotorch", "metaheb")


def searcher_state(searcher: SearchAlgorithm) -> dict[str, Any]:
    """Every tensor, number and generator state reachable from the searcher, by path."""
    state: dict[str, Any] = {}
    visited: set[int] = set()  # objects met twice (back references) are walked once

    def walk(value: Any, path: str) -> None:
        if isinstance(value, torch.Generator):
            state[path + "#generator"] = value.get_state()
        elif isinstance(value, torch.Tensor):
            state[path] = value.detach().as_subclass(torch.Tensor).clone()
        elif isinstance(value, bool | int | float | np.floating | np.integer):
            state[path] = value.item() if isinstance(value, np.generic) else value
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key}]")
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif _owned(value) and hasattr(value, "__dict__") and id(value) not in visited:
            visited.add(id(value))
            for name, item in vars(value).items():
                if not any(part in name for part in SKIPPED):
                    walk(item, f"{path}.{name}")

    walk(searcher, "")
    if isinstance(searcher, GaussianSearchAlgorithm) and searcher.population is not None:
        # PGPE and SNES take the gradient of the previous generation at the start of a step.
        population = searcher.population
        state["._population#values"] = population.values.as_subclass(torch.Tensor).clone()
        state["._population#evals"] = population.evals.as_subclass(torch.Tensor).clone()
    return state


def load_searcher_state(searcher: SearchAlgorithm, state: dict[str, Any]) -> None:
    """Write a ``searcher_state`` back into a freshly built searcher of the same config."""
    current = searcher_state(searcher)
    current.update({key: None for key in state if key.startswith("._population#")})
    if set(current) != set(state):
        missing = sorted(set(current) ^ set(state))[:3]
        raise ValueError(f"checkpoint does not match this searcher (differs at {missing})")
    for path, value in state.items():
        if not _same_kind(current[path], value):
            raise ValueError(f"checkpoint does not match this searcher (at {path})")
    for path, value in state.items():
        if not path.startswith("._population#"):
            _assign(searcher, path, value)
    if "._population#values" in state:
        values = state["._population#values"]
        population = SolutionBatch(searcher.problem, popsize=values.shape[0], empty=True)
        population.access_values()[:] = values
        population.set_evals(state["._population#evals"])
        searcher._population = population


def _assign(root: Any, path: str, value: Any) -> None:
    """Set the attribute, dict entry or frozen-dataclass field that ``path`` names."""
    if path.endswith("#generator"):
        _resolve(root, path[: -len("#generator")]).set_state(value)
        return
    parent_path, name, is_item = _split(path)
    parent = _resolve(root, parent_path)
    old = parent[_key(parent, name)] if is_item else getattr(parent, name)
    if isinstance(old, torch.Tensor):
        # A fresh tensor of the old one's class (read-only wrappers stay read-only), never a copy
        # into the old storage: searchers may start with two names for one tensor.
        value = value.clone().as_subclass(type(old))
    if is_item:
        parent[_key(parent, name)] = value
    elif dataclasses.is_dataclass(parent) and parent.__dataclass_params__.frozen:
        object.__setattr__(parent, name, value)
    else:
        setattr(parent, name, value)


def _same_kind(old: Any, new: Any) -> bool:
    """``new`` can stand where ``old`` stood in a fresh searcher: a tensor of its shape and dtype;
    a flag for a flag; a number, or a tensor, for a number (CMA-ES's evolution paths start as
    the number 0 and are vectors after the first step)."""
    if old is None:
        return isinstance(new, torch.Tensor)
    if isinstance(old, torch.Tensor):
        return isinstance(new, torch.Tensor) and (new.shape, new.dtype) == (old.shape, old.dtype)
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    return isinstance(new, int | float | torch.Tensor)


def _split(path: str) -> tuple[str, str, bool]:
    cut = max(path.rfind("."), path.rfind("["))
    if path[cut] == "[":
        return path[:cut], path[cut + 1 : -1], True
    return path[:cut], path[cut + 1 :], False


def _key(container: Any, name: str) -> Any:
    return int(name) if isinstance(container, tuple | list) else name


def _resolve(root: Any, path: str) -> Any:
    node = root
    for token in path.replace("[", ".[").split(".")[1:] if path else []:
        node = node[_key(node, token[1:-1])] if token.startswith("[") else getattr(node, token)
    return node


def save_checkpoint(
    path: Path,
    generations_done: int,
    best_fitness: float,
    searcher: SearchAlgorithm,
    problem: Problem,
    best_heldout: float = -float("inf"),
    assignment: tuple[int, ...] = (),
) -> None:
    """``assignment``: an evolve-and-merge run's synapse-to-rule assignment after its last merge
    (its network's genome is the rules alone, so a resume needs it to rebuild the network)."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "generations_done": generations_done,
        "best_fitness": best_fitness,
        "best_heldout": best_heldout,
        "searcher": searcher_state(searcher),
        "problem_generator": problem.generator.get_state(),
    }
    if assignment:
        payload["assignment"] = torch.tensor(assignment, dtype=torch.int64)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint with the safe loader (tensors, numbers and strings only) and check it.

    A damaged, foreign or empty file is a ``UserError`` saying so, never a traceback.
    """
    try:
        checkpoint = torch.load(path, weights_only=True)
    except Exception as err:  # torch.load raises a dozen types for damaged bytes
        detail = (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0][:90]
        raise UserError(
            f"checkpoint {str(path)!r} is damaged ({detail}); {CANNOT_RESUME}"
        ) from None
    problem = _checkpoint_problem(checkpoint)
    if problem:
        raise UserError(f"checkpoint {str(path)!r} {problem}; {CANNOT_RESUME}")
    return checkpoint


CANNOT_RESUME = (
    "the run cannot resume, its metrics and agents are intact: train again from its config.toml"
)


def _checkpoint_problem(checkpoint: Any) -> str:
    """What is wrong with a loaded checkpoint's structure, or ''."""
    if not isinstance(checkpoint, dict):
        return "is not a metaheb checkpoint"
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        return f"has version {checkpoint.get('version')!r}, this metaheb reads {CHECKPOINT_VERSION}"
    done, best = checkpoint.get("generations_done"), checkpoint.get("best_fitness")
    if isinstance(done, bool) or not isinstance(done, int) or done < 1:
        return f"has no valid generations_done ({done!r})"
    if isinstance(best, bool) or not isinstance(best, int | float):
        return f"has no valid best_fitness ({best!r})"
    heldout = checkpoint.get("best_heldout", 0.0)
    if isinstance(heldout, bool) or not isinstance(heldout, int | float):
        return f"has no valid best_heldout ({heldout!r})"
    if not isinstance(checkpoint.get("searcher"), dict):
        return "has no searcher state"
    generator = checkpoint.get("problem_generator")
    if not isinstance(generator, torch.Tensor) or generator.dtype != torch.uint8:
        return "has no random generator state"
    assignment = checkpoint.get("assignment")
    if assignment is not None and not (
        isinstance(assignment, torch.Tensor)
        and assignment.dtype == torch.int64
        and assignment.ndim == 1
        and bool((assignment >= 0).all())
    ):
        return "has a damaged rule assignment"
    return ""


def restore(checkpoint: dict[str, Any], searcher: SearchAlgorithm, problem: Problem) -> None:
    """Put the checkpoint's state into a fresh searcher and problem of the run's config."""
    try:
        load_searcher_state(searcher, checkpoint["searcher"])
        problem.generator.set_state(checkpoint["problem_generator"])
    except (ValueError, RuntimeError, TypeError) as err:
        raise UserError(f"{err}: {CANNOT_RESUME}") from None
