"""The encoder's rational tanh: near tanh, odd, saturating, and the same bits torch and the
kernel compute (tests/test_encoder_kernel.py holds the kernel to it)."""

import numpy as np
import torch

from metaheb.rational_tanh import BOUND, rational_tanh


def ulp_error(x: torch.Tensor) -> torch.Tensor:
    exact = torch.tanh(x.double())
    ulp = torch.from_numpy(np.spacing(exact.abs().float().numpy())).double()
    return (rational_tanh(x).double() - exact).abs() / ulp


def test_it_is_within_six_units_in_the_last_place_of_tanh():
    grid = torch.linspace(-12, 12, 1_000_001)
    tiny = torch.logspace(-38, 0, 10_001)
    errors = torch.cat([ulp_error(grid), ulp_error(tiny), ulp_error(-tiny)])
    assert errors.max() <= 6 and errors.mean() < 1


def test_it_is_odd_saturates_and_keeps_nan_and_signed_zeros():
    x = torch.linspace(0, 20, 200_001)
    y = rational_tanh(x)
    assert torch.equal(rational_tanh(-x), -y)  # bit for bit
    assert bool((y[x >= BOUND] == 1).all()) and bool((y <= 1).all())
    # Not monotone to the last bit (its rounding wobbles by a few units near 1), but close: the
    # encoder's pool before it differs from a pool after it by no more than that.
    assert (y[:-1] - y[1:]).max() <= 8 * 2**-24
    special = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("nan")])
    out = rational_tanh(special)
    assert torch.equal(
        out[:4].view(torch.int32), torch.tensor([0.0, -0.0, 1.0, -1.0]).view(torch.int32)
    )
    assert out[4].isnan()


def test_it_does_not_depend_on_the_tensor_s_layout():
    x = 4 * torch.randn(6, 41, 41, generator=torch.Generator().manual_seed(0))
    strided = x.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    assert torch.equal(rational_tanh(x), rational_tanh(strided))
