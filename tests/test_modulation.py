"""Neuromodulated plasticity: every mode against a float64 loop written from its equation, and
the modulation wired to the task's rewards in a real Ant rollout."""

import math

import numpy as np
import pytest
import torch
from conftest import train_small
from test_rules import EQUATIONS

from metaheb.config import NetworkConfig, load_config
from metaheb.errors import UserError
from metaheb.evaluate import resolve_agent
from metaheb.modulation import MODES, parameter_names
from metaheb.networks import PolicyNetwork
from metaheb.replay import plot_traces, replay_agent
from metaheb.rollout import rollout_batch
from metaheb.rules import RULES, hebbian_step_
from metaheb.tasks import make_task

SIZES = (3, 4, 5, 2)


def network(mode, rule="ABCD_lr", **extra):
    return PolicyNetwork(SIZES, rule=rule, modulation=mode, **extra)


def reference_modulation(mode, params, hidden, reward, state):
    """m_t and the next (rbar, s) for one agent, from metaheb/modulation.py's equations."""
    names = parameter_names(mode, len(hidden))
    p = dict(zip(names, params))
    baseline, size = state
    error = 0.0
    if mode in ("reward", "both"):
        alpha = 1 / (1 + math.exp(-p["rate"]))
        delta = reward - baseline
        baseline += alpha * delta
        size += alpha * (abs(delta) - size)
        error = delta / (size + 1e-8)
    state = (baseline, size)
    if mode == "reward":
        return p["gain"] * error, state
    drive = sum(p[f"v{k + 1}"] * h for k, h in enumerate(hidden)) / math.sqrt(len(hidden))
    drive += p["bias"]
    if mode == "both":
        drive += p["rpe"] * error
    return math.tanh(drive), state


def reference_episode(net, genomes, weights, inputs, rewards):
    """Every step: forward pass, the step's reward, m_t, then every synapse's rule update times
    m_t; one synapse at a time, float64."""
    rule = RULES[net.rule]
    coefficients = net.rule_coefficients(net.genome_layout.decode(genomes))
    params = net.genome_layout.decode(genomes)["modulation"][0]
    weights = [w.clone() for w in weights]
    agents = genomes.shape[0]
    state = [(0.0, 0.0)] * agents
    for x, step_rewards in zip(inputs, rewards):
        activations = [x]
        for w in weights:
            activations.append(torch.tanh(torch.einsum("poi,pi->po", w, activations[-1])))
        for p in range(agents):
            hidden = [float(h) for layer in activations[1:-1] for h in layer[p]]
            m, state[p] = reference_modulation(
                net.modulation, params[p].tolist(), hidden, float(step_rewards[p]), state[p]
            )
            for layer, w in enumerate(weights):
                pre, post = activations[layer][p], activations[layer + 1][p]
                for j in range(w.shape[1]):
                    for i in range(w.shape[2]):
                        c = {
                            name: float(coefficients[layer][p, k, j, i])
                            for k, name in enumerate(rule.coefficients)
                        }
                        w[p, j, i] += m * EQUATIONS[rule.name](c, float(pre[i]), float(post[j]))
    return weights


def run_episode(net, genomes, weights, inputs, rewards):
    """The same episode through PolicyNetwork and its Modulator."""
    weights = [w.clone() for w in weights]
    _, terms = net.start_episode(genomes, [0] * genomes.shape[0])
    modulator = net.modulator(genomes)
    for x, step_rewards in zip(inputs, rewards):
        activations = net.forward(weights, x)
        modulator.observe(0.25 * step_rewards)  # two env steps' rewards for one update
        modulator.observe(0.75 * step_rewards)
        net.plasticity_step(weights, activations, terms, modulator.factor(activations))
    return weights


def episode_inputs(net, agents, steps, seed):
    generator = torch.Generator().manual_seed(seed)
    genomes = torch.randn(agents, net.genome_layout.size, generator=generator, dtype=torch.float64)
    weights = [
        torch.rand(agents, *shape, generator=generator, dtype=torch.float64) * 0.2 - 0.1
        for shape in net.layer_shapes
    ]
    inputs = [
        torch.randn(agents, SIZES[0], generator=generator, dtype=torch.float64)
        for _ in range(steps)
    ]
    rewards = [np.random.default_rng([seed, t]).normal(0, 0.5, agents) for t in range(steps)]
    return genomes * 0.3, weights, inputs, rewards


@pytest.mark.parametrize("fused", [False, True], ids=["eager", "fused"])
@pytest.mark.parametrize("mode", MODES[1:])
def test_every_mode_matches_its_equation(mode, fused):
    net = network(mode, fused=fused)
    genomes, weights, inputs, rewards = episode_inputs(net, agents=3, steps=4, seed=len(mode))
    expected = reference_episode(net, genomes, weights, inputs, rewards)
    got = run_episode(net, genomes, weights, inputs, rewards)
    for layer, reference in zip(got, expected):
        torch.testing.assert_close(layer, reference, atol=1e-9, rtol=0)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_modulation_multiplies_every_rule(rule):
    net = network("both", rule=rule)
    genomes, weights, inputs, rewards = episode_inputs(net, agents=2, steps=3, seed=len(rule))
    expected = reference_episode(net, genomes, weights, inputs, rewards)
    got = run_episode(net, genomes, weights, inputs, rewards)
    for layer, reference in zip(got, expected):
        torch.testing.assert_close(layer, reference, atol=1e-9, rtol=0)


def test_modulation_works_with_the_bottleneck():
    net = network("reward", bottleneck=4)
    genomes, weights, inputs, rewards = episode_inputs(net, agents=2, steps=3, seed=7)
    expected = reference_episode(net, genomes, weights, inputs, rewards)
    got = run_episode(net, genomes, weights, inputs, rewards)
    for layer, reference in zip(got, expected):
        torch.testing.assert_close(layer, reference, atol=1e-9, rtol=0)


def test_no_modulation_is_the_unmodulated_update_bit_for_bit():
    plain = PolicyNetwork(SIZES)
    assert network("none").genome_layout == plain.genome_layout
    assert network("none").modulator(torch.zeros(1, plain.genome_layout.size)) is None
    # m = 1 through the modulated path changes no bit: the factor is folded in exactly.
    rule = RULES["ABCD_lr_D_in_and_out"]
    generator = torch.Generator().manual_seed(3)
    w = torch.rand(4, 5, 6, generator=generator)
    pre, post = torch.randn(4, 6, generator=generator), torch.randn(4, 5, generator=generator)
    terms = rule.fold(torch.randn(4, rule.size, 5, 6, generator=generator))
    once, twice = w.clone(), w.clone()
    hebbian_step_(once, pre, post, terms)
    hebbian_step_(twice, pre, post, terms, torch.ones(4))
    assert torch.equal(once, twice)


def test_the_parameters_end_the_genome_after_every_other_segment():
    net = network("both", init="coevolved")
    kinds = [segment.kind for segment in net.genome_layout.segments]
    assert kinds[-1] == "modulation" and kinds.count("modulation") == 1
    hidden = sum(SIZES[1:-1])
    assert net.genome_layout.segments[-1].shape == (hidden + 3,)
    assert parameter_names("reward", hidden) == ("gain", "rate")


def test_a_static_network_cannot_be_modulated():
    config = NetworkConfig(model="static", modulation="reward")
    with pytest.raises(UserError, match="a static network has none"):
        PolicyNetwork.for_task(config, 28, 8, "tanh")


def ant_genome_size(mode):
    """ABCD_lr on 28-8-8 (five coefficients per synapse), then the mode's parameters."""
    return (28 * 8 + 8 * 8) * 5 + len(parameter_names(mode, 8))


def ant_rollout(mode, genomes, seeds, **task):
    config = load_config(
        None,
        [
            "task.max_steps=40",
            "task.burn_in=5",
            *[f"task.{key}={value}" for key, value in task.items()],
            "network.hidden=[8]",
            f"network.modulation={mode}",
        ],
    )
    made = make_task(config.task)
    net = PolicyNetwork.of_task(config.network, made)
    rewards = []

    def record(step, active, envs, score):
        rewards.append(score.reward[active].copy())

    result = rollout_batch(made, net, genomes, seeds, trace_every=1, on_step=record)
    return net, result, rewards


def test_reward_modulation_reads_the_ants_progress_since_the_last_update():
    size = ant_genome_size("reward")
    genomes = torch.randn(2, size, generator=torch.Generator().manual_seed(1))
    gain, rate = genomes[:, -2].tolist(), genomes[:, -1].tolist()
    _, result, rewards = ant_rollout("reward", genomes, [11, 12], action_repeat=2)
    assert result.steps.tolist() == [40, 40]
    pending, expected = np.zeros(2), {}
    state = [(0.0, 0.0), (0.0, 0.0)]
    for step, reward in enumerate(rewards):
        pending += reward
        if step >= 5 and (step - 5) % 2 == 0:  # a decision, then its update
            for k in range(2):
                m, state[k] = reference_modulation(
                    "reward", [gain[k], rate[k]], [], pending[k], state[k]
                )
                expected.setdefault(step + 1, []).append(m)
            pending = np.zeros(2)
    assert any(np.abs(m).max() > 0.1 for m in expected.values())
    for trace in result.traces:
        if trace.step in expected:
            np.testing.assert_allclose(trace.modulation, expected[trace.step], rtol=1e-4)
        elif trace.step <= 5:
            assert np.isnan(trace.modulation).all()  # no update yet


def test_zero_gain_freezes_the_weights_and_episodes_do_not_depend_on_the_batch():
    size = ant_genome_size("reward")
    genomes = torch.randn(3, size, generator=torch.Generator().manual_seed(2))
    frozen = genomes.clone()
    frozen[:, -2] = 0.0
    _, result, _ = ant_rollout("reward", frozen, [1, 2, 3])
    assert all(np.array_equal(t.mean_abs, result.traces[0].mean_abs) for t in result.traces)
    both = torch.randn(3, ant_genome_size("both"), generator=torch.Generator().manual_seed(3))
    _, together, _ = ant_rollout("both", both, [1, 2, 3])
    _, alone, _ = ant_rollout("both", both[1:2], [2])
    assert together.fitness[1] == alone.fitness[0]


def test_a_modulated_ant_trains_and_replays_its_modulation(tmp_path, local_ray):
    run = train_small(tmp_path, "network.modulation=both", "task.max_steps=30")
    result = replay_agent(resolve_agent(run), [], seed=0)
    assert result.traces[0].modulation is not None
    assert np.isfinite(result.traces[-1].modulation).all()
    plot_traces(result, tmp_path / "traces.png")
    assert (tmp_path / "traces.png").stat().st_size > 10_000
