"""The fuzz corpus: malformed inputs a hostile or unlucky user can give metaheb, as data.

Each case is a command line plus, optionally, a way to damage a copy of a real finished run
(``RUN`` in the arguments names that copy; ``AGENT`` its best agent file). ``tests/test_fuzz.py``
runs every case and demands exit code 2 with one line on stderr (or success) and no file left
behind.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args, get_origin

import numpy as np
import torch
from safetensors.numpy import load_file, save

from metaheb import config as config_module

Damage = Callable[[Path], None]  # edits the copy of the run in place


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    damage: Damage | None = None  # None: the command needs no run
    expect: tuple[str, ...] = ()  # on exit 2, the message holds one of these


# --- config values: every key of every section, each given values it must refuse ------------

FLOAT_BAD = ["nan", "inf", "-inf", "-1.5", "'0.1'", "true", "[1.0]"]
INT_BAD = ["-1", "1.5", "'3'", "true", "nan", "[]", "99999999999999999999"]
LITERAL_BAD = ["nosuch", "''", "1", "true", "[]"]
NAME_BAD = ["../x", "a/b", "/abs", ".hidden", "true", "[]"]
LIST_BAD = {
    "network.hidden": ["5", "[]", "[0]", "[-4]", "[1.5]", "['a']", "[true]", "[100000]"],
    "task.morphologies": ["[]", "['../x']", "['a/b']", "['nosuch']", "'intact'", "[true]"],
    "task.ablation_layers": ["[5]", "[-1]", "['a']", "3", "[1.5]"],
    "task.failed_actuators": ["[8]", "[-1]", "[1.5]", "['a']", "2"],
}
TEXT_BAD = {
    "run.out_dir": ["''", "true", "[]"],
    "task.morphology_dir": ["true", "[]", "'/nonexistent/bodies'"],
    "ray.address": ["true", "[]"],
    # a name from the list, or gym:<id> of a gymnasium MuJoCo body
    "task.name": [
        "nosuch",
        "''",
        "1",
        "true",
        "[]",
        "gym:Nope-v1",
        "gym:CartPole-v1",
        "'gym:'",
        "'gym:../x-v1'",
        "'gym:HalfCheetah'",
    ],
}


def _section_classes() -> dict[str, type]:
    sections = dataclasses.fields(config_module.Config)
    return {field.name: getattr(config_module, field.type) for field in sections}


def _bad_values(key: str, hint: object) -> list[str]:
    if key in LIST_BAD:
        return LIST_BAD[key]
    if key in TEXT_BAD:
        return TEXT_BAD[key]
    if key == "run.name":
        return NAME_BAD
    while get_origin(hint) is not None and get_origin(hint) is not Literal:
        hint = get_args(hint)[0]  # Annotated[int, Field(...)] -> int
    if get_origin(hint) is Literal:
        return LITERAL_BAD
    if hint is bool:
        return ["1", "'yes'", "[]"]
    if hint is int:
        return INT_BAD
    if hint is float:
        return FLOAT_BAD
    raise AssertionError(f"no bad values for {key} ({hint})")


def config_cases() -> list[Case]:
    import typing

    cases = []
    for section, cls in _section_classes().items():
        hints = typing.get_type_hints(cls, include_extras=True)
        for field in dataclasses.fields(cls):
            key = f"{section}.{field.name}"
            for value in _bad_values(key, hints[field.name]):
                expect = (f"'{key}'", key, "morpholog")
                cases.append(Case(f"{key}={value}", ("inspect", f"{key}={value}"), None, expect))
    joint = [
        ["evolve.popsize=7"],
        ["evolve.algorithm=cmaes", "evolve.popsize=2"],
        ["task.burn_in=1000"],
        ["task.burn_in=50", "evolve.eval_max_steps=50"],
        ["network.encoder=carracing_conv"],
        ["task.name=carracing"],
        ["task.name=carracing", "network.encoder=carracing_conv", "task.failed_actuators=[1]"],
        ["task.ablation_layers=[2]", "network.hidden=[8]"],
        ["nosuch.key=1"],
        ["evolve.nosuch=1"],
        ["evolve.popsiz=8"],
        ["popsize=8"],
        ["=8"],
        ["evolve="],
        ["task=3"],
        ["evolve.popsize=8", "oops"],
    ]
    for args in joint:
        expect = (*(arg.partition("=")[0] for arg in args), "override", "argument", "nosuch")
        cases.append(Case(" ".join(args), ("inspect", *args), None, expect))
    return cases


# --- files given on the command line -------------------------------------------------------


def _write(name: str, data: bytes) -> Damage:
    def damage(run: Path) -> None:
        (run.parent / name).write_bytes(data)

    return damage


def file_cases() -> list[Case]:
    files = {
        "binary": b"\x00\xff\xfe\x80config",
        "invalid-toml": b"[evolve\npopsize = 4\n",
        "wrong-type": b"[evolve]\npopsize = 'many'\n",
        "bad-section": b"evolve = 3\n",
        "nan-lr": b"[evolve]\nlr = nan\n",
        "unknown-section": b"[evolution]\npopsize = 4\n",
    }
    cases = [
        Case(f"train config {name}", ("train", "../given.toml"), _write("given.toml", data))
        for name, data in files.items()
    ]
    cases += [
        Case("train missing config", ("train", "nope.toml")),
        Case("train a folder as config", ("train", "..")),
        Case(
            "train out_dir inside a file",
            ("train", "run.out_dir=../afile/runs"),
            _write("afile", b"x"),
        ),
        Case("train out_dir in /proc", ("train", "run.out_dir=/proc/metaheb-runs")),
        Case("no such command", ("fly",)),
        Case("inspect a missing config", ("inspect", "nope.toml")),
    ]
    return cases


# --- command-line options of evaluate, replay, report, resume --------------------------------


def cli_cases() -> list[Case]:
    keep = lambda run: None  # noqa: E731 (an intact run)
    replay = [
        ["--seed", "-1"],
        ["--seed", str(2**32)],
        ["--seed", "abc"],
        ["--video", "/proc/metaheb/v.mp4"],
        ["--video", "AGENT/v.mp4"],
        ["--traces", "/proc/metaheb/t.png"],
        ["--ablate", "x"],
        ["--ablate", "0.5@"],
        ["--ablate", "@5"],
        ["--ablate", "0.5@-1"],
        ["--ablate", "2@5"],
        ["--ablate", "nan@5"],
        ["--morphology", "../x"],
        ["--morphology", "nosuch"],
        ["--morphology", ""],
        ["evolve.popsize=2"],
        ["task.nosuch=1"],
        ["task.max_steps=0"],
        ["--nosuch"],
    ]
    cases = [Case(f"replay {' '.join(a)}", ("replay", "RUN", *a), keep) for a in replay]
    evaluate = [
        ["--episodes", "0"],
        ["--episodes", "-3"],
        ["--episodes", "x"],
        ["--morphology", "nosuch"],
        ["--ablate", "1.5@10"],
        ["task.ablation_layers=[7]"],
        ["network.rule=A"],
    ]
    cases += [Case(f"evaluate {' '.join(a)}", ("evaluate", "RUN", *a), keep) for a in evaluate]
    cases += [
        Case("evaluate a missing agent", ("evaluate", "nope.safetensors")),
        Case("evaluate a folder with no agent", ("evaluate", "..")),
        Case("replay a missing agent", ("replay", "nope.safetensors")),
    ]
    report = [
        ["--ablation-step", "-5"],
        ["--ablation-step", "100000"],
        ["--seeds", "0"],
        ["--seed", "-1"],
        ["--ablation", "a,b"],
        ["--ablation", "2"],
        ["--ablation", "-0.1"],
        ["--agent", "bogus"],
        ["--morphologies", "nosuch"],
        ["--morphologies", "../x"],
    ]
    cases += [
        Case(f"report {' '.join(a)}", ("report", "RUN", "--out", "../report", *a), keep)
        for a in report
    ]
    cases += [
        Case("report --out inside a file", ("report", "RUN", "--out", "AGENT/r"), keep),
        Case("report --out in /proc", ("report", "RUN", "--out", "/proc/metaheb-report"), keep),
        Case("report no runs", ("report", "--out", "../report")),
        Case("report a run twice", ("report", "RUN", "RUN", "--out", "../report"), keep),
        Case("report a missing run", ("report", "nope", "--out", "../report")),
        Case(
            "report center of an unfinished run",
            ("report", "RUN", "--agent", "center", "--out", "../report"),
            lambda run: (run / "agents" / "center.safetensors").unlink(),
        ),
        Case("resume a missing run", ("resume", "nope")),
        Case("resume a file", ("resume", "AGENT")),
        Case("resume a finished run", ("resume", "RUN"), _finished),
    ]
    return cases


def _finished(run: Path) -> None:
    config = run / "config.toml"
    config.write_text(config.read_text().replace("generations = 2\n", "generations = 1\n"))


# --- agent files: damaged bytes and tampered metadata ----------------------------------------


def _agent_path(run: Path) -> Path:
    return run / "agents" / "best.safetensors"


def _truncate(length: int | float) -> Damage:
    def damage(run: Path) -> None:
        data = _agent_path(run).read_bytes()
        keep = int(length * len(data)) if isinstance(length, float) else length
        _agent_path(run).write_bytes(data[:keep])

    return damage


def _bytes(data: bytes) -> Damage:
    return lambda run: _agent_path(run).write_bytes(data)


def _rewrite(edit: Callable[[dict, dict], None]) -> Damage:
    """Re-save the agent with its header and tensors changed by ``edit(header, tensors)``."""

    def damage(run: Path) -> None:
        from safetensors import safe_open

        with safe_open(str(_agent_path(run)), framework="numpy") as handle:
            metadata = dict(handle.metadata())
        tensors = load_file(str(_agent_path(run)))
        header = json.loads(metadata["metaheb"])
        edit(header, tensors)
        raw = header.pop("__raw__", None)
        metadata["metaheb"] = raw if raw is not None else json.dumps(header)
        if header.get("__drop__"):
            del metadata["metaheb"]
        _agent_path(run).write_bytes(save(tensors, metadata=metadata))

    return damage


def _set(path: str, value: object) -> Damage:
    """Set ``a.b`` in the agent's header (``-`` as value: delete the key)."""

    def edit(header: dict, tensors: dict) -> None:
        *parents, last = path.split(".")
        node = header
        for part in parents:
            node = node[part]
        if value == "-":
            del node[last]
        else:
            node[last] = value

    return _rewrite(edit)


def _raw(text: str | None) -> Damage:
    def edit(header: dict, tensors: dict) -> None:
        header.clear()
        if text is None:
            header["__drop__"] = True
        else:
            header["__raw__"] = text

    return _rewrite(edit)


def _genome(make: Callable[[np.ndarray], dict]) -> Damage:
    def edit(header: dict, tensors: dict) -> None:
        replacement = make(tensors.pop("genome"))
        tensors.update(replacement)

    return _rewrite(edit)


def agent_cases() -> list[Case]:
    damages: dict[str, Damage] = {
        "empty": _bytes(b""),
        "one byte": _truncate(1),
        "seven bytes": _truncate(7),
        "header cut": _truncate(20),
        "half": _truncate(0.5),
        "last byte cut": _truncate(-1),
        "random bytes": _bytes(np.random.default_rng(0).bytes(256)),
        "huge header length": _bytes(struct.pack("<Q", 2**60) + b"{}"),
        "header not JSON": _bytes(struct.pack("<Q", 10) + b"{not json}"),
        "header a list": _bytes(struct.pack("<Q", 2) + b"[]"),
        "plain JSON": _bytes(b'{"genome": [1, 2, 3]}'),
        "no metaheb metadata": _raw(None),
        "metadata not JSON": _raw("{oops"),
        "metadata a list": _raw("[1, 2]"),
        "metadata a string": _raw('"agent"'),
        "format foreign": _set("format", "other"),
        "version 2": _set("version", 2),
        "version text": _set("version", "1"),
        "no task": _set("task", "-"),
        "task a list": _set("task", [1]),
        "task.max_steps -1": _set("task.max_steps", -1),
        "task.nosuch": _set("task.nosuch", 1),
        "task.name walker": _set("task.name", "walker"),
        "task.morphologies climbs": _set("task.morphologies", ["../x"]),
        "task.observation pixels": _set("task.observation", "pixels"),
        "task.fall_height NaN": _set("task.fall_height", float("nan")),
        "no network": _set("network", "-"),
        "network a string": _set("network", "mlp"),
        "no sizes": _set("network.sizes", "-"),
        "sizes empty": _set("network.sizes", []),
        "sizes one": _set("network.sizes", [28]),
        "sizes text": _set("network.sizes", ["a", 8]),
        "sizes zero": _set("network.sizes", [28, 0, 8]),
        "sizes of the raw Ant": _set("network.sizes", [27, 8, 8]),
        "sizes of another genome": _set("network.sizes", [28, 9, 8]),
        "sizes bool": _set("network.sizes", [True, 8, 8]),
        "output relu": _set("network.output_activation", "relu"),
        "rule unknown": _set("network.rule", "ABCDE"),
        "rule smaller": _set("network.rule", "A"),
        "model unknown": _set("network.model", "transformer"),
        "model static": _set("network.model", "static"),
        "init unknown": _set("network.init", "zeros"),
        "init_scale NaN": _set("network.init_scale", float("nan")),
        "init_scale negative": _set("network.init_scale", -1.0),
        "bottleneck negative": _set("network.bottleneck", -1),
        "bottleneck changed": _set("network.bottleneck", 16),
        "encoder on the Ant": _set("network.encoder", "carracing_conv"),
        "network extra key": _set("network.depth", 3),
        "fused text": _set("network.fused", "yes"),
        "normalise unknown": _set("network.normalise", "l2"),
        "run_seed negative": _set("run_seed", -1),
        "run_seed huge": _set("run_seed", 2**40),
        "run_seed text": _set("run_seed", "x"),
        "episode_seed negative": _set("episode_seed", -1),
        "episode_seed float": _set("episode_seed", 1.5),
        "genome 2-D": _genome(lambda g: {"genome": g.reshape(1, -1)}),
        "genome float64": _genome(lambda g: {"genome": g.astype(np.float64)}),
        "genome int32": _genome(lambda g: {"genome": g.astype(np.int32)}),
        "genome empty": _genome(lambda g: {"genome": g[:0]}),
        "genome one short": _genome(lambda g: {"genome": g[:-1]}),
        "genome renamed": _genome(lambda g: {"weights": g}),
    }
    cases = []
    for name, damage in damages.items():
        evaluate = ("evaluate", "AGENT", "--episodes", "1")
        expect = ("agent file", "not a metaheb agent file")
        cases.append(Case(f"evaluate agent: {name}", evaluate, damage, expect))
        cases.append(Case(f"replay agent: {name}", ("replay", "AGENT"), damage, expect))
    return cases


# --- checkpoints, metrics and config snapshots of a run, through resume and runs ------------


def _checkpoint(edit: Callable[[dict], object]) -> Damage:
    def damage(run: Path) -> None:
        path = run / "checkpoint.pt"
        checkpoint = torch.load(path, weights_only=True)
        buffer = io.BytesIO()
        torch.save(edit(checkpoint), buffer)
        path.write_bytes(buffer.getvalue())

    return damage


def _checkpoint_bytes(make: Callable[[bytes], bytes]) -> Damage:
    def damage(run: Path) -> None:
        path = run / "checkpoint.pt"
        path.write_bytes(make(path.read_bytes()))

    return damage


def _replace(key: str, value: object) -> Callable[[dict], dict]:
    return lambda checkpoint: (
        {**checkpoint, key: value}
        if value != "-"
        else {k: v for k, v in checkpoint.items() if k != key}
    )


def _searcher(edit: Callable[[dict], dict]) -> Callable[[dict], dict]:
    return lambda checkpoint: {**checkpoint, "searcher": edit(dict(checkpoint["searcher"]))}


def _reshape_first_tensor(state: dict) -> dict:
    key = next(k for k, v in state.items() if isinstance(v, torch.Tensor) and v.numel() > 1)
    return {**state, key: state[key][:-1]}


def _numbers_as_text(state: dict) -> dict:
    return {k: v if isinstance(v, torch.Tensor) else "0.5" for k, v in state.items()}


def _tensors_as_numbers(state: dict) -> dict:
    return {k: 0.5 if isinstance(v, torch.Tensor) and "#" not in k else v for k, v in state.items()}


def _metrics(make: Callable[[bytes], bytes]) -> Damage:
    def damage(run: Path) -> None:
        path = run / "metrics.jsonl"
        path.write_bytes(make(path.read_bytes()))

    return damage


def _config_toml(data: bytes) -> Damage:
    return lambda run: (run / "config.toml").write_bytes(data)


RUNS = ("runs", "--out-dir", "..")  # lists the damaged copy beside its siblings


def run_state_cases() -> list[Case]:
    checkpoints: dict[str, Damage] = {
        "empty": _checkpoint_bytes(lambda data: b""),
        "garbage": _checkpoint_bytes(lambda data: b"not a checkpoint at all"),
        "truncated early": _checkpoint_bytes(lambda data: data[:10]),
        "truncated half": _checkpoint_bytes(lambda data: data[: len(data) // 2]),
        "last byte cut": _checkpoint_bytes(lambda data: data[:-1]),
        "a list": _checkpoint(lambda c: [1, 2]),
        "no keys": _checkpoint(lambda c: {}),
        "version 2": _checkpoint(_replace("version", 2)),
        "generations_done -1": _checkpoint(_replace("generations_done", -1)),
        "generations_done text": _checkpoint(_replace("generations_done", "1")),
        "generations_done bool": _checkpoint(_replace("generations_done", True)),
        "generations_done past the end": _checkpoint(_replace("generations_done", 10**6)),
        "best_fitness text": _checkpoint(_replace("best_fitness", "high")),
        "no searcher": _checkpoint(_replace("searcher", "-")),
        "searcher a list": _checkpoint(_replace("searcher", [1])),
        "no generator": _checkpoint(_replace("problem_generator", "-")),
        "generator of floats": _checkpoint(_replace("problem_generator", torch.zeros(3))),
        "searcher key missing": _checkpoint(_searcher(lambda s: dict(list(s.items())[1:]))),
        "searcher key extra": _checkpoint(_searcher(lambda s: {**s, ".nosuch": 1})),
        "searcher tensor reshaped": _checkpoint(_searcher(_reshape_first_tensor)),
        "searcher number as text": _checkpoint(_searcher(_numbers_as_text)),
        "searcher tensor a number": _checkpoint(_searcher(_tensors_as_numbers)),
    }
    cases = [
        Case(f"resume checkpoint: {n}", ("resume", "RUN"), d, ("checkpoint",))
        for n, d in checkpoints.items()
    ]
    metrics: dict[str, Damage] = {
        "first line garbage": _metrics(lambda data: b"{oops\n" + data),
        "binary line": _metrics(lambda data: b"\xff\xfe\x00\n" + data),
        "a list line": _metrics(lambda data: b"[1, 2]\n" + data),
        "missing field": _metrics(lambda data: b'{"generation": 0}\n' + data),
        "wrong field type": _metrics(lambda data: data.replace(b'"best":', b'"best":"x","b":')),
        "renumbered": _metrics(lambda data: data.replace(b'"generation":0', b'"generation":5')),
        "emptied": _metrics(lambda data: b""),
        "torn only line": _metrics(lambda data: data[: len(data) // 2]),
    }
    cases += [
        Case(f"resume metrics: {n}", ("resume", "RUN"), d, ("metrics",)) for n, d in metrics.items()
    ]
    cases += [Case(f"runs metrics: {n}", RUNS, d, ("never",)) for n, d in metrics.items()]
    configs = {
        "binary": b"\x00\xff\x80",
        "invalid TOML": b"[evolve\n",
        "lr nan": b"[evolve]\nlr = nan\n",
        "unknown key": b"[evolve]\nnosuch = 1\n",
        "section a number": b"evolve = 3\n",
        "another network": b"[network]\nhidden = [16]\n[task]\nburn_in = 5\n",
    }
    for name, data in configs.items():
        expect = ("run config", "config key", "checkpoint does not match")
        cases.append(Case(f"resume config: {name}", ("resume", "RUN"), _config_toml(data), expect))
        cases.append(Case(f"runs config: {name}", RUNS, _config_toml(data), ("never",)))
    for name in ("config.toml", "checkpoint.pt", "metrics.jsonl"):
        remove = lambda run, name=name: (run / name).unlink()  # noqa: E731
        cases.append(Case(f"resume without {name}", ("resume", "RUN"), remove))
    return cases


def all_cases() -> list[Case]:
    return config_cases() + file_cases() + cli_cases() + agent_cases() + run_state_cases()
