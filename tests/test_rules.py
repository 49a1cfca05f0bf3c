"""The ABCD_lr rule against a loop over synapses written straight from the equation."""

import pytest
import torch

from metaheb.rules import abcd_lr_, fold_learning_rate


def reference_step(w, pre, post, coefficients):
    """dw_ij = eta (A o_i o_j + B o_i + C o_j + D), one synapse at a time, float64."""
    w = w.clone().double()
    agents, outs, ins = w.shape
    for p in range(agents):
        for j in range(outs):
            for i in range(ins):
                a, b, c, d, eta = (float(coefficients[p, k, j, i]) for k in range(5))
                o_i, o_j = float(pre[p, i]), float(post[p, j])
                w[p, j, i] += eta * (a * o_i * o_j + b * o_i + c * o_j + d)
    return w


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 5), (2, 7, 3), (5, 2, 9)])
def test_abcd_lr_matches_the_equation(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    agents, outs, ins = shape
    w = torch.rand(shape, generator=generator, dtype=torch.float64) - 0.5
    pre = torch.randn(agents, ins, generator=generator, dtype=torch.float64)
    post = torch.tanh(torch.randn(agents, outs, generator=generator, dtype=torch.float64))
    coefficients = torch.randn(agents, 5, outs, ins, generator=generator, dtype=torch.float64)
    expected = reference_step(w, pre, post, coefficients)

    storage = w.data_ptr()
    abcd_lr_(w, pre, post, fold_learning_rate(coefficients))
    assert w.data_ptr() == storage, "the rule must write the live weights in place"
    torch.testing.assert_close(w, expected, atol=1e-6, rtol=0)


def test_float32_step_stays_close_to_the_float64_equation():
    generator = torch.Generator().manual_seed(0)
    w = torch.rand(4, 16, 8, generator=generator) * 0.2 - 0.1
    pre = torch.randn(4, 8, generator=generator)
    post = torch.tanh(torch.randn(4, 16, generator=generator))
    coefficients = torch.randn(4, 5, 16, 8, generator=generator)
    expected = reference_step(w, pre, post, coefficients)
    abcd_lr_(w, pre, post, fold_learning_rate(coefficients))
    torch.testing.assert_close(w.double(), expected, atol=1e-5, rtol=1e-5)


def test_zero_learning_rate_freezes_the_weights():
    w = torch.rand(2, 3, 4)
    before = w.clone()
    coefficients = torch.randn(2, 5, 3, 4)
    coefficients[:, 4] = 0.0
    abcd_lr_(w, torch.randn(2, 4), torch.randn(2, 3), fold_learning_rate(coefficients))
    assert torch.equal(w, before)
