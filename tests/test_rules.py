"""Every rule variant against a loop over synapses written straight from its equation, eager
and fused."""

import pytest
import torch

from metaheb import rules
from metaheb.rules import (
    RULES,
    Terms,
    fused_hebbian_step_,
    fused_update_works,
    hebbian_step_,
    normalise_max_abs_,
)

# dw for one synapse, from the equations of Najarro & Risi (2020), c = the synapse's coefficients.
EQUATIONS = {
    "A": lambda c, i, j: c["A"] * i * j,
    "AD": lambda c, i, j: c["A"] * i * j + c["D"],
    "AD_lr": lambda c, i, j: c["eta"] * (c["A"] * i * j + c["D"]),
    "ABC": lambda c, i, j: c["A"] * i * j + c["B"] * i + c["C"] * j,
    "ABC_lr": lambda c, i, j: c["eta"] * (c["A"] * i * j + c["B"] * i + c["C"] * j),
    "ABCD": lambda c, i, j: c["A"] * i * j + c["B"] * i + c["C"] * j + c["D"],
    "ABCD_lr": lambda c, i, j: c["eta"] * (c["A"] * i * j + c["B"] * i + c["C"] * j + c["D"]),
    "ABCD_lr_D_out": lambda c, i, j: c["eta"] * (c["A"] * i * j + c["B"] * i + c["C"] * j) + c["D"],
    "ABCD_lr_D_in_and_out": lambda c, i, j: (
        c["eta"] * (c["A"] * i * j + c["B"] * i + c["C"] * j + c["D_in"]) + c["D_out"]
    ),
}


def reference_step(rule, w, pre, post, coefficients):
    """One synapse at a time, float64."""
    w = w.clone().double()
    agents, outs, ins = w.shape
    for p in range(agents):
        for j in range(outs):
            for i in range(ins):
                c = {n: float(coefficients[p, k, j, i]) for k, n in enumerate(rule.coefficients)}
                w[p, j, i] += EQUATIONS[rule.name](c, float(pre[p, i]), float(post[p, j]))
    return w


@pytest.fixture(params=["built", "compiled"])
def fused_path(request, monkeypatch):
    """The fused update by the kernel built for this CPU, or by torch's compiled update."""
    if request.param == "compiled":
        monkeypatch.setattr(rules, "_built_update_works", lambda: False)
    elif not rules._built_update_works():
        pytest.skip("no C++ compiler here")
    return request.param


def test_every_rule_has_an_equation():
    assert set(RULES) == set(EQUATIONS)


@pytest.mark.parametrize("step", [hebbian_step_, fused_hebbian_step_], ids=["eager", "fused"])
@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 5), (2, 7, 3)])
def test_rule_matches_its_equation(name, shape, step):
    rule = RULES[name]
    generator = torch.Generator().manual_seed(sum(shape) + len(name))
    agents, outs, ins = shape
    w = torch.rand(shape, generator=generator, dtype=torch.float64) - 0.5
    pre = torch.randn(agents, ins, generator=generator, dtype=torch.float64)
    post = torch.tanh(torch.randn(agents, outs, generator=generator, dtype=torch.float64))
    coefficients = torch.randn(
        agents, rule.size, outs, ins, generator=generator, dtype=torch.float64
    )
    expected = reference_step(rule, w, pre, post, coefficients)

    storage = w.data_ptr()
    step(w, pre, post, rule.fold(coefficients))
    assert w.data_ptr() == storage, "the rule must write the live weights in place"
    torch.testing.assert_close(w, expected, atol=1e-6, rtol=0)


def test_float32_step_stays_close_to_the_float64_equation():
    rule = RULES["ABCD_lr"]
    generator = torch.Generator().manual_seed(0)
    w = torch.rand(4, 16, 8, generator=generator) * 0.2 - 0.1
    pre = torch.randn(4, 8, generator=generator)
    post = torch.tanh(torch.randn(4, 16, generator=generator))
    coefficients = torch.randn(4, 5, 16, 8, generator=generator)
    expected = reference_step(rule, w, pre, post, coefficients)
    hebbian_step_(w, pre, post, rule.fold(coefficients))
    torch.testing.assert_close(w.double(), expected, atol=1e-5, rtol=1e-5)


def test_zero_learning_rate_freezes_the_weights():
    w = torch.rand(2, 3, 4)
    before = w.clone()
    coefficients = torch.randn(2, 5, 3, 4)
    coefficients[:, 4] = 0.0
    hebbian_step_(w, torch.randn(2, 4), torch.randn(2, 3), RULES["ABCD_lr"].fold(coefficients))
    assert torch.equal(w, before)


def test_the_fused_step_gives_an_agent_the_same_bits_in_any_batch(fused_path):
    # Results must not depend on which agents share a batch (the number of workers).
    rule = RULES["ABCD_lr"]
    generator = torch.Generator().manual_seed(1)
    w = torch.rand(6, 64, 27, generator=generator) - 0.5
    pre, post = torch.randn(6, 27, generator=generator), torch.randn(6, 64, generator=generator)
    terms = rule.fold(torch.randn(6, 5, 64, 27, generator=generator))
    together = w.clone()
    fused_hebbian_step_(together, pre, post, terms)
    for part in (slice(2, 3), slice(1, 4), slice(3, 6)):
        alone = w[part].clone()
        fused_hebbian_step_(alone, pre[part], post[part], Terms(*(t[part] for t in terms)))
        assert torch.equal(alone, together[part])


@pytest.mark.parametrize("agents", [1, 5])
@pytest.mark.parametrize(
    ("name", "modulated", "normalise"),
    [
        *((name, False, True) for name in ("A", "AD_lr", "ABC", "ABCD_lr")),
        ("ABCD_lr", False, False),
        ("ABCD_lr", True, False),
        ("ABCD_lr", True, True),
    ],
)
def test_the_fused_step_gives_the_eager_steps_bits(name, modulated, normalise, agents, fused_path):
    # A run's numbers must not depend on which update ran (network.fused=auto picks per run).
    assert fused_update_works()
    rule = RULES[name]
    generator = torch.Generator().manual_seed(agents + len(name))
    w = 2 * torch.randn(agents, 37, 29, generator=generator)  # rows that do not fill a register
    pre = torch.tanh(torch.randn(agents, 29, generator=generator))
    post = torch.tanh(torch.randn(agents, 37, generator=generator))
    terms = rule.fold(0.3 * torch.randn(agents, rule.size, 37, 29, generator=generator))
    scale = torch.randn(agents, generator=generator) if modulated else None
    eager, fused = w.clone(), w.clone()
    hebbian_step_(eager, pre, post, terms, scale)
    if normalise:
        normalise_max_abs_(eager)
    fused_hebbian_step_(fused, pre, post, terms, scale, normalise)
    assert torch.equal(fused.view(torch.int32), eager.view(torch.int32))  # -0.0 apart from 0.0
