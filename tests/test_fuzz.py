"""Every malformed input in the fuzz corpus ends in exit 2 and one line, or succeeds; none leaves
a file behind (tests/fuzz_cases.py holds the corpus).

The commands run in this process through the command line's entry point, so a traceback would
surface here as the exception itself; a few also run as real processes, as a user runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FUZZ_CASES_RUN, train_small
from fuzz_cases import Case, all_cases

from metaheb.cli import main

CASES = all_cases()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, local_ray):
    """A real run (one generation of a tiny network), its config then asking for two."""
    run = train_small(tmp_path_factory.mktemp("fuzz-base"), "evolve.eval_every=0")
    config = run / "config.toml"
    config.write_text(config.read_text().replace("generations = 1\n", "generations = 2\n"))
    return run


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time; every folder."""
    return {
        str(path.relative_to(root)): (0, 0)
        if path.is_dir()
        else (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def run_case(case: Case, root: Path, base: Path | None, capsys) -> tuple[int, str]:
    work = root / "work"
    work.mkdir()
    run = root / "run"
    if case.damage is not None:
        shutil.copytree(base, run)
        case.damage(run)
    agent = run / "agents" / "best.safetensors"
    argv = [arg.replace("AGENT", str(agent)).replace("RUN", str(run)) for arg in case.argv]
    before = tree(root)
    capsys.readouterr()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        main(argv)
        code = 0
    except SystemExit as exit:
        code = exit.code
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert tree(root) == before, f"{case.id}: files changed"
    return code, err


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_is_one_line_and_exit_2_or_success(
    case, tmp_path, capsys, finished_run, request
):
    code, err = run_case(case, tmp_path, finished_run, capsys)
    request.config.stash.setdefault(FUZZ_CASES_RUN, []).append(case.id)
    assert code in (0, 2), f"{case.id}: exit {code}: {err}"
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("metaheb: error: "), f"{case.id}: {err}"
        if case.expect:
            assert any(word in lines[0] for word in case.expect), f"{case.id}: {lines[0]}"


def test_the_corpus_has_at_least_200_cases():
    assert len(CASES) >= 200, len(CASES)
    assert len({case.id for case in CASES}) == len(CASES), "case ids repeat"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "evolve.lr=nan"], "'evolve.lr' must be a finite number"),
        (["train", "run.name=../x"], "'run.name' must be a plain name"),
        (["train", "run.out_dir=/proc/metaheb-runs"], "cannot be written"),
        (["replay", "nope.safetensors", "--seed", "-1"], "--seed must be within"),
        (["report", "nope", "--out", "r", "--ablation-step", "-5"], "--ablation-step must be"),
    ],
)
def test_a_real_process_prints_one_line_and_exits_2(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "metaheb.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_runs_lists_a_damaged_run_as_damaged_and_the_others_as_they_are(
    tmp_path, finished_run, capsys
):
    for name in ("a-good", "b-torn-config", "c-good"):
        shutil.copytree(finished_run, tmp_path / name)
    (tmp_path / "b-torn-config" / "config.toml").write_bytes(b"[evolve\n")
    main(["runs", "--out-dir", str(tmp_path)])
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    status = dict(row.split()[:2] for row in rows)
    assert status == {"a-good": "done", "b-torn-config": "damaged", "c-good": "done"}
