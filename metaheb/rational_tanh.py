"""The CarRacing encoder's tanh as a fixed rational function: the same bits on every CPU.

    tanh(x) ~ clamp(x P(u) / Q(u), -1, 1),  x clamped to [-9, 9],  u = x^2 / 81,
    P(u) = 1 + p1 u + p2 u^2 + p3 u^3 + p4 u^4,  Q(u) = 1 + q1 u + q2 u^2 + q3 u^3 + q4 u^4.

The coefficients are a relative least-squares fit of tanh(x) / x on u in [0, 1], reweighted by
1 / Q until it settles (Sanathanan & Koerner 1963), rounded to float32
(``python scripts/fit_rational_tanh.py`` prints them and their error). Evaluated in float32, every
step rounded in the order written below, it is within 6 units in the last place of tanh (0.7 on
average), and exactly +-1 from |x| = 9 on (float32's tanh is +-1 from 9.011 on). Its rounding
wobbles, so it is monotone only to within 8 units in the last place near +-1.

Why not ``torch.tanh``: on this project's CPUs it runs MKL's ``vsTanh`` at 3.3 ns a value, about
a tenth of the CarRacing agent's own work per step, and its bits are MKL's choice for the CPU at
hand. This function costs a few multiply-adds and one division a value, its steps are IEEE
operations (so torch and ``metaheb.encoder_kernel``, which runs it inside the pool, give the same
bits), and every CPU rounds them alike. Agent files evolved with ``torch.tanh`` keep it
(``network.encoder_tanh``).
"""

from __future__ import annotations

import torch

BOUND = 9.0
SCALE = 0.012345679104328156  # float32(1 / 81)
P = (1.0837791442871094e01, 2.2926176071166992e01, 1.0940644264221191e01, 5.734730362892151e-01)
Q = (3.7837779998779297e01, 1.6974774169921875e02, 1.7449778747558594e02, 3.341946029663086e01)
# The kernel's argument (metaheb/encoder_kernel.cpp, RationalTanh): bound, scale, P, Q.
KERNEL_NUMBERS = torch.tensor((BOUND, SCALE, *P, *Q), dtype=torch.float32)


def rational_tanh(x: torch.Tensor) -> torch.Tensor:
    """The rational tanh of a float32 tensor, step by step as the encoder kernel computes it."""
    x = x.clamp(-BOUND, BOUND)
    u = x * x * SCALE
    return (x * _horner(u, P) / _horner(u, Q)).clamp_(-1.0, 1.0)


def _horner(u: torch.Tensor, coefficients: tuple[float, ...]) -> torch.Tensor:
    """1 + c1 u + ... + cn u^n, as (((cn u + c(n-1)) u + ...) u + 1, each step rounded."""
    value = u * coefficients[-1]
    for coefficient in coefficients[-2::-1]:
        value = (value + coefficient).mul_(u)
    return value.add_(1.0)
