"""metaheb report: damage x ablation grids over real runs, arms, rank tests, and the files."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import metaheb_cli, train_small

from metaheb.errors import UserError
from metaheb.evaluate import agent_setup
from metaheb.report import make_report
from metaheb.report.grid import CURVE_EVERY, report_seeds
from metaheb.rollout import rollout_batch
from metaheb.runs import heldout_curve, load_agent

GRID = {"episodes": 3, "morphologies": ["intact", "front_left_lower_x0.25"], "levels": [0.0, 0.5]}
TASK = ["task.max_steps=60", "evolve.init_std=0.05"]  # gentle rules: episodes run their 60 steps


@pytest.fixture(scope="module")
def runs(tmp_path_factory, local_ray):
    out = tmp_path_factory.mktemp("runs")
    return [
        train_small(out / "hebbian", *TASK, "run.seed=1"),
        train_small(out / "hebbian-2", *TASK, "run.seed=2"),
        train_small(out / "static", *TASK, "network.model=static"),
    ]


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    written = make_report([str(run) for run in runs], out, **GRID)
    return out, written


def test_report_writes_every_raw_episode_and_groups_runs_into_arms(report):
    out, written = report
    assert sorted(p.name for p in out.iterdir()) == [
        "figures",
        "report.html",
        "report.json",
        "report.md",
    ]
    assert set(written) == {*out.glob("report.*"), *out.glob("figures/*.png")}
    data = json.loads((out / "report.json").read_text())
    assert [a["arm"] for a in data["agents"]] == ["hebbian ABCD_lr", "hebbian ABCD_lr", "static"]
    for agent in data["agents"]:
        assert agent["seen"] == ["intact"] and agent["ablation_step"] == 30
        assert [(c["morphology"], c["level"]) for c in agent["cells"]] == [
            ("intact", 0.0),
            ("intact", 0.5),
            ("front_left_lower_x0.25", 0.0),
            ("front_left_lower_x0.25", 0.5),
        ]
        for cell in agent["cells"]:
            assert len(cell["fitness"]) == 3 and len(cell["curve"]) == 60 // CURVE_EVERY
    hebbian = data["arms"][0]
    assert hebbian["runs"] == ["agent", "agent"] and len(hebbian["cells"][0]["run_means"]) == 2
    first = data["agents"][0]["cells"][0]["fitness"]
    second = data["agents"][1]["cells"][0]["fitness"]
    assert hebbian["cells"][0]["mean"] == pytest.approx((np.mean(first) + np.mean(second)) / 2)
    assert len(data["comparisons"]) == 4
    assert all(0.0 <= c["p_value"] <= 1.0 for c in data["comparisons"])


def test_a_cell_is_the_agent_s_own_episodes_with_the_report_seeds(runs, report):
    out, _ = report
    data = json.loads((out / "report.json").read_text())
    agent = load_agent(runs[2] / "agents" / "best.safetensors")
    task, network = agent_setup(agent, ["task.morphologies=['front_left_lower_x0.25']"])
    seeds = report_seeds(0, 3)
    assert data["seeds"] == seeds
    direct = rollout_batch(
        task,
        network,
        torch.tensor(agent.genome)[None].repeat(3, 1),
        seeds,
        "front_left_lower_x0.25",
    )
    assert data["agents"][2]["cells"][2]["fitness"] == direct.fitness.tolist()


def test_ablation_changes_nothing_before_its_step_and_something_after(report):
    out, _ = report
    data = json.loads((out / "report.json").read_text())
    for agent in data["agents"]:
        intact, ablated = agent["cells"][0], agent["cells"][1]
        before = -(-agent["ablation_step"] // CURVE_EVERY)  # samples after steps before it
        # Equal up to the rounding of (final x - fitness), the start position the curve uses.
        assert intact["curve"][:before] == pytest.approx(ablated["curve"][:before], abs=1e-12)
        assert intact["fitness"] != ablated["fitness"]


def test_the_same_runs_and_seeds_give_the_same_report_to_the_bit(runs, report, tmp_path):
    out, _ = report
    make_report([str(run) for run in runs], tmp_path, **GRID)
    assert (tmp_path / "report.json").read_bytes() == (out / "report.json").read_bytes()
    assert (tmp_path / "report.md").read_bytes() == (out / "report.md").read_bytes()


def test_html_is_self_contained_and_every_image_renders_in_a_headless_browser(report, tmp_path):
    out, _ = report
    page = (out / "report.html").read_text()
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(images) == 6 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page)  # nothing fetched
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("METAHEB_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    # A copy of the page with a probe that counts the images the browser decoded.
    probe = (
        "<script>window.addEventListener('load', () => { const all = [...document.images];"
        "const ok = all.filter(i => i.complete && i.naturalWidth > 0).length;"
        "document.body.insertAdjacentHTML('beforeend', `<p id=probe>${ok}/${all.length}</p>`);"
        "});</script>"
    )
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert f'<p id="probe">{len(images)}/{len(images)}</p>' in dom, dom[-500:]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "metaheb.cli", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/run"], "is not a run directory"),
        (["--morphologies", "intact,three_legs"], "unknown morphology 'three_legs'"),
        (["--ablation", "0,1.5"], "outside 0..1"),
        (["--ablation", "half"], "must be fractions"),
        (["--seeds", "0"], "--seeds must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_report(runs, tmp_path, args, message):
    out = tmp_path / "report"
    result = cli(str(runs[0]), *args, "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not out.exists()


def test_the_reproduction_summary_tabulates_every_arm_of_a_report(report, tmp_path):
    out, _ = report
    summary = tmp_path / "summary.json"
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "reproduce", "summarize.py")
    result = subprocess.run(
        [sys.executable, script, str(out / "report.json"), "--json", str(summary)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "report.json").read_text())
    rows = json.loads(summary.read_text())
    assert [row["arm"] for row in rows] == [arm["arm"] for arm in data["arms"]]
    table, pairs = (part.splitlines() for part in result.stdout.strip().split("\n\n"))
    assert len(table) == 2 + len(rows)
    assert len(pairs) == 2 + len(data["claim"]["differences"])
    for row, line in zip(rows, table[2:]):
        intact = row["bodies"]["intact"]  # the one body these runs were trained on
        assert row["walks_on_seen"] == (intact[0] > intact[1])
        shown = line.split(" | ")[2 + len(row["bodies"])]
        assert (shown == "n/a") == (not row["walks_on_seen"])


def test_the_report_keeps_how_each_run_learned_and_draws_it(runs, report):
    out, _ = report
    data = json.loads((out / "report.json").read_text())
    for run, agent in zip(runs, data["agents"]):
        curve = heldout_curve(run)
        training = agent["training"]
        assert training["env_steps"] == curve.env_steps > 0
        assert training["generations"] == curve.generations == 1
        # the start (0 env steps) and the last generation's centre, as evolve.eval_every has it
        assert [point[0] for point in training["heldout"]] == [0, curve.env_steps]
        assert training["heldout"] == [list(point) for point in curve.points]
    assert (out / "figures" / "learning.png").read_bytes().startswith(b"\x89PNG")
    assert "## Learning curves" in (out / "report.md").read_text()


def test_the_results_page_is_generated_from_the_report_alone(report, tmp_path):
    out, _ = report
    page_path = tmp_path / "docs" / "results.md"
    stale = tmp_path / "docs" / "figures" / "reproduce" / "heatmap-09-gone.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's figure")

    def write() -> str:
        result = metaheb_cli("results", str(out), "--out", str(page_path), timeout=60)
        assert result.returncode == 0, result.stderr
        return page_path.read_text()

    page = write()
    assert write() == page  # the same report gives the same page, to the byte
    for heading in ("Reading", "The claim beside the paper", "Learning curves", "Recovery"):
        assert f"## {heading}" in page
    links = re.findall(r"\]\(([^)\s]+\.png)\)", page)
    assert {page_path.parent / link for link in links} == set(stale.parent.glob("*.png"))
    assert {p.name for p in stale.parent.glob("*.png")} == {
        p.name for p in (out / "figures").glob("*.png")
    }
    data = json.loads((out / "report.json").read_text())
    for ratio in data["claim"]["ratios"]:
        row = next(line for line in page.splitlines() if line.startswith(f"| {ratio['arm']} | "))
        shown = "n/a" if ratio["ratio"] is None else f"{ratio['ratio']:.2f} ["
        assert shown in row
    # Whichever way the numbers fall, the reading says it in one of its plain sentences.
    assert re.search(
        r"\*\*(The paper's shape (reproduces|is reversed)|This budget does not "
        r"(settle|make the paper's test)|The claim cannot be read)",
        page,
    )
    assert "452 +- 95" in page and "7.8 +- 1.6" in page  # the paper, in a.u. and in metres
    # The CarRacing section belongs to scripts/bench_learning.py: a new page keeps it.
    page_path.write_text(page + "\n## CarRacing\n\nthe drivers' curves\n")
    assert write() == page + "\n## CarRacing\n\nthe drivers' curves\n"


def test_every_markdown_figure_link_names_its_own_file(report):
    # The three runs share the folder name "agent": their heatmaps must not overwrite each other.
    out, _ = report
    links = re.findall(r"\]\((figures/[^)\s]+)\)", (out / "report.md").read_text())
    assert len(links) == 6 and len(set(links)) == 6
    assert {out / link for link in links} == set(out.glob("figures/*.png"))
    assert all(re.fullmatch(r"figures/[A-Za-z0-9._-]+\.png", link) for link in links)


def test_numbers_never_read_minus_zero_and_generations_count_from_one(report):
    out, _ = report
    markdown = (out / "report.md").read_text()
    assert not re.search(r"(?<![\d.])-0\.0+(?!\d*[1-9])", markdown)
    agents = markdown.split("## Agents\n\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert [row.split(" | ")[4] for row in agents] == ["1", "1", "1"]  # gen 1/1


def test_heatmaps_share_one_colour_scale_and_recovery_curves_one_range(runs, tmp_path, monkeypatch):
    from metaheb.report import documents

    scales, ranges = [], []
    heatmap, recovery = documents.heatmap, documents.recovery_curves
    monkeypatch.setattr(documents, "heatmap", lambda *a: scales.append(a[-1]) or heatmap(*a))
    monkeypatch.setattr(
        documents, "recovery_curves", lambda *a: ranges.append(a[-1]) or recovery(*a)
    )
    make_report([str(run) for run in runs], tmp_path, **GRID)
    data = json.loads((tmp_path / "report.json").read_text())
    means = [np.mean(c["fitness"]) for agent in data["agents"] for c in agent["cells"]]
    curves = [v for agent in data["agents"] for c in agent["cells"] for v in c["curve"]]
    assert len(scales) == 3 and len(set(scales)) == 1
    assert scales[0] == pytest.approx((min(means), max(means)))
    assert len(ranges) == 2 and len(set(ranges)) == 1
    assert ranges[0][0] <= min(curves) and ranges[0][1] >= max(curves)


def test_a_reused_out_folder_keeps_no_stale_figure_and_a_run_counts_once(runs, tmp_path):
    make_report([str(run) for run in runs], tmp_path, **GRID)
    written = make_report([str(runs[2])], tmp_path, **GRID)
    assert set(tmp_path.glob("figures/*.png")) == {p for p in written if p.suffix == ".png"}
    assert len(list(tmp_path.glob("figures/*.png"))) == 3  # heatmap, recovery, learning
    from metaheb.errors import UserError

    with pytest.raises(UserError, match="given twice"):
        make_report([str(runs[0]), str(runs[0]) + "/"], tmp_path / "again", **GRID)


def test_the_report_carries_the_claim_ratios_differences_and_recovery_windows(report):
    out, _ = report
    data = json.loads((out / "report.json").read_text())
    claim = data["claim"]
    # Trained on the intact body: every other body is unseen, for each of the two arms.
    assert [(r["arm"], r["unseen"]) for r in claim["ratios"]] == [
        (arm, "front_left_lower_x0.25") for arm in ("hebbian ABCD_lr", "static")
    ]
    for ratio in claim["ratios"]:
        arm = next(a for a in data["arms"] if a["arm"] == ratio["arm"])
        cells = {(c["morphology"], c["level"]): c["mean"] for c in arm["cells"]}
        assert ratio["seen_mean"] == pytest.approx(cells["intact", 0.0])
        assert ratio["unseen_mean"] == pytest.approx(cells["front_left_lower_x0.25", 0.0])
    assert [(d["arm"], d["baseline"]) for d in claim["differences"]] == [
        ("hebbian ABCD_lr", "static")
    ]
    assert [(r["arm"], r["morphology"], r["level"]) for r in claim["recovery"]] == [
        (arm, body, 0.5)
        for arm in ("hebbian ABCD_lr", "static")
        for body in ("intact", "front_left_lower_x0.25")
    ]
    assert all(len(r["distance"]) == 1 for r in claim["recovery"])  # one window of 60 steps
    markdown = (out / "report.md").read_text()
    assert "## The damage claim" in markdown and "## Recovery after ablation" in markdown


def test_a_task_without_bodies_is_refused_in_one_line(tmp_path, local_ray):
    from metaheb.errors import UserError

    run = train_small(
        tmp_path / "runs",
        "task.name=carracing",
        "network.encoder=carracing_conv",
        "task.max_steps=20",
        "evolve.popsize=2",
        "evolve.eval_every=0",
    )
    bodies = r"carracing has no bodies to damage: .*\(ant, ant_bullet\)$"
    with pytest.raises(UserError, match=bodies):
        make_report([str(run)], tmp_path / "report", **GRID)
    assert not (tmp_path / "report").exists()


def test_a_pybullet_results_page_is_in_au_and_summarised_on_the_mujoco_page(tmp_path, local_ray):
    pytest.importorskip("pybullet")
    bullet = ["task.name=ant_bullet", "task.max_steps=60", "evolve.eval_every=0"]
    bodies = "task.morphologies=['intact', 'front_right_lower_x0.25']"
    runs = [
        str(train_small(tmp_path / "hebbian", *bullet, bodies)),
        str(train_small(tmp_path / "static", *bullet, bodies, "network.model=static")),
    ]
    out = tmp_path / "report"
    seen_and_unseen = ["intact", "front_right_lower_x0.25", "front_left_lower_x0.25"]
    make_report(runs, out, **{**GRID, "episodes": 2, "morphologies": seen_and_unseen})
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text("# Results\n\n## Reading\n\nthe MuJoCo page\n")
    page_path = docs / "results-bullet.md"
    result = metaheb_cli("results", str(out), "--out", str(page_path), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    page = (docs / "results-bullet.md").read_text()
    assert "SIM=bullet bash scripts/reproduce/ant_damage.sh" in page and "(a.u.)" in page
    # These runs' budget (none: a generation count) is not the presets' 3M, so the command says it.
    assert "ant_damage.sh evolve.max_env_steps=0`" in page
    summary = (docs / "results.md").read_text()
    assert summary.startswith("# Results\n\n## Reading\n\nthe MuJoCo page\n\n")
    assert "## In pybullet's Ant, the paper's simulator" in summary
    assert "[results-bullet.md](results-bullet.md)" in summary and "452 +- 95" in summary


def test_max_steps_sets_every_episodes_length_whatever_the_runs_trained_on(runs, tmp_path):
    out = tmp_path / "longer"
    make_report(
        [str(runs[0])], out, episodes=2, morphologies=["intact"], levels=[0.0], max_steps=90
    )
    data = json.loads((out / "report.json").read_text())
    (agent,) = data["agents"]
    assert agent["max_steps"] == 90 and agent["ablation_step"] == 45
    assert max(agent["cells"][0]["steps"]) > 60  # past the runs' own 60-step episodes
    with pytest.raises(UserError, match="must be past every run's burn-in"):
        make_report([str(runs[0])], tmp_path / "none", max_steps=1)
