import json

import pytest

from metaheb.config import load_config
from metaheb.errors import UserError


def test_defaults_follow_the_paper():
    config = load_config()
    assert (config.evolve.lr, config.evolve.lr_decay, config.evolve.lr_min) == (0.2, 0.995, 0.001)
    assert (config.evolve.sigma, config.evolve.sigma_decay, config.evolve.sigma_min) == (
        0.1,
        0.999,
        0.01,
    )
    assert (config.task.max_steps, config.task.burn_in) == (1000, 40)
    assert config.network.hidden == [128, 64]


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[evolve]\npopsize = 8\nlr = 1\n[run]\nname = 'x'\n")
    config = load_config(path, ["evolve.popsize=16", "network.hidden=[8, 4]", "run.name=y"])
    assert config.evolve.popsize == 16
    assert config.evolve.lr == 1.0 and isinstance(config.evolve.lr, float)
    assert config.network.hidden == [8, 4]
    assert config.run.name == "y"


def test_a_number_given_for_a_name_is_its_text():
    assert load_config(None, ["run.name=123"]).run.name == "123"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["evolve.popsiz=16"], "did you mean 'evolve.popsize'"),
        (["evolve.popsize=many"], "must be a valid integer"),
        (["evolve.popsize=true"], "must be a valid integer"),
        (["network.fused=1"], "must be a valid boolean"),
        (["evolve.popsize=7"], "must be even"),
        (["evolve.sigma=-1"], "must be greater than 0"),
        (["evolve.lr=nan"], "'evolve.lr' must be a finite number"),
        (["evolve.lr=inf"], "'evolve.lr' must be a finite number"),
        (["evolve.sigma=nan"], "'evolve.sigma' must be a finite number"),
        (["evolve.l2=nan"], "'evolve.l2' must be a finite number"),
        (["network.init_scale=inf"], "'network.init_scale' must be a finite number"),
        (["run.seed=-1"], "'run.seed' must be greater than or equal to 0"),
        (["run.seed=4294967296"], "'run.seed' must be less than 4294967296"),
        (["task.ablation_layers=[5]"], "layers 0..2 of a network with 2 hidden layers"),
        (["evolve.algorithm=cmaes", "evolve.popsize=1"], "at least 4 for cmaes"),
        (["run.name=../x"], "'run.name' must be a plain name"),
        (["run.name=/tmp/x"], "'run.name' must be a plain name"),
        (["run.name=a/b"], "'run.name' must be a plain name"),
        (
            ["task.morphologies=['../ant/intact']"],
            r"'task.morphologies' \(item 0\) must be a plain",
        ),
        (["task.morphologies=[]"], "must have at least 1 item"),
        (["network.hidden=[]"], "'network.hidden' is empty"),
        (["network.hidden=[64, 0]"], r"'network.hidden' \(item 1\) must be greater than or equal"),
        (["task.failed_actuators=[8]"], "must be less than or equal to 7"),
        (["task.ablation_fraction=1.5"], "must be less than or equal to 1"),
        (["evolve.lr_decay=0"], "'evolve.lr_decay' must be greater than 0"),
        (["task.name=car"], "choose one of: ant, carracing"),
        (["evolve"], "not key=value"),
        (["nosuch.key=1"], "unknown config section"),
        (["popsize=3"], "dotted key"),
        (["network.rule=ABCDE"], "choose one of: A, AD"),
    ],
)
def test_bad_input_is_one_clear_line(overrides, message):
    with pytest.raises(UserError, match=message) as info:
        load_config(None, overrides)
    assert "\n" not in str(info.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[evolve\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config(broken)


def test_every_preset_in_envs_is_a_valid_config():
    from pathlib import Path

    from metaheb.families import load_family
    from metaheb.sweep import load_sweep

    presets = sorted((Path(__file__).resolve().parents[1] / "envs").rglob("*.toml"))
    assert len(presets) >= 7
    for preset in presets:
        if preset.parent.name == "sweeps":
            load_sweep(preset)  # a sweep file, its base config and every setting checked
        elif preset.parent.name == "families":
            load_family(str(preset))
        else:
            load_config(preset)


def test_the_reproduction_arms_share_bodies_episodes_and_budget():
    import dataclasses
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "envs" / "reproduce"
    arms = {path.stem: load_config(path) for path in sorted(folder.glob("ant-damage-*.toml"))}
    names = ("hebbian", "static", "k16", "k64", "neuromod-both", "merge")
    assert set(arms) == {f"ant-damage-{arm}" for arm in names}
    shared = {
        (json.dumps(vars(c.task), sort_keys=True), c.evolve.max_env_steps, c.evolve.popsize)
        for c in arms.values()
    }
    assert len(shared) == 1  # only the network (and the static arm's search steps) differ
    hebbian = arms["ant-damage-hebbian"]
    assert hebbian.task.morphologies == ["intact", "front_right_lower_x0.25"]
    # The protocol: 300-step training episodes, the minimum over the two seen bodies, held-out
    # episodes of the paper's 1000 steps.
    assert (hebbian.task.max_steps, hebbian.evolve.eval_max_steps) == (300, 1000)
    assert hebbian.task.morphology_fitness == "min" and hebbian.network.normalise == "max_abs"
    # The neuromodulated arm is the Hebbian arm with modulation, and nothing else.
    modulated = arms["ant-damage-neuromod-both"]
    assert modulated.network.modulation == "both"
    assert dataclasses.replace(modulated.network, modulation="none") == hebbian.network
    assert modulated.evolve == hebbian.evolve
    # The merging arm is the Hebbian arm with a merge schedule, and nothing else.
    merging = arms["ant-damage-merge"]
    assert merging.network == hebbian.network
    assert dataclasses.replace(merging.evolve, merge_rules=[], merge_at=[]) == hebbian.evolve


def test_metaheb_config_prints_every_key_as_a_config_file_of_the_defaults(tmp_path):
    import dataclasses
    import subprocess
    import sys

    from metaheb.config import SECTIONS, Config, config_from_dict, read_toml

    result = subprocess.run(
        [sys.executable, "-m", "metaheb.cli", "config"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    written = tmp_path / "defaults.toml"
    written.write_text(result.stdout)
    # The printed file loads, and loads to the defaults (an unset task key stays commented out).
    assert config_from_dict(read_toml(written, "config")) == Config()
    lines = result.stdout.splitlines()
    for name, cls in SECTIONS.items():
        assert f"[{name}]" in lines
        for key in dataclasses.fields(cls):
            at = next(
                i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{key.name} = ")
            )
            meaning = next(line for line in lines[at - 1 :: -1] if not line.startswith("#  "))
            # Every key is explained above itself: a meaning, then its kind in brackets.
            assert meaning.startswith("# ") and len(meaning) > 20 and meaning.endswith(")"), (
                key.name
            )


def test_metaheb_config_of_one_section_and_of_an_unknown_one():
    import subprocess
    import sys

    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "metaheb.cli", "config", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    evolve = run("evolve")
    assert evolve.returncode == 0 and evolve.stdout.startswith("[evolve]\n")
    assert "#   cmaes: CMA-ES, Hansen & Ostermeier (2001), full covariance\n" in evolve.stdout
    assert "[task]" not in evolve.stdout
    unknown = run("evolv")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip().splitlines() == [
        "metaheb: error: unknown config section 'evolv'; known: run, task, network, evolve, ray"
    ]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["network.encoder=carracing_conv"], "reads pixels; task.name=ant gives a state vector"),
        (["task.name=carracing"], "task.name=carracing gives pixels: use network.encoder=carr"),
    ],
)
def test_a_network_input_the_task_does_not_give_is_one_line(overrides, message):
    # The task says what its input needs (task.encoder); the network is checked as it is built.
    from metaheb.networks import PolicyNetwork
    from metaheb.tasks import make_task

    config = load_config(None, overrides)
    with pytest.raises(UserError, match=message) as info:
        PolicyNetwork.of_task(config.network, make_task(config.task))
    assert "\n" not in str(info.value)
