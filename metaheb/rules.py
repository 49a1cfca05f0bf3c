"""Hebbian plasticity rules, batched over a population of agents.

Najarro & Risi (2020), "Meta-learning through Hebbian plasticity in random networks", eq. (1),
the ABCD_lr rule: every synapse w_ij from pre-synaptic neuron i to post-synaptic neuron j has its
own coefficients (A, B, C, D, eta) and changes at every step by

    dw_ij = eta_ij * (A_ij o_i o_j + B_ij o_i + C_ij o_j + D_ij)

Shapes: a layer's weights are ``(P, out, in)`` for a population of P agents (post j indexes
``out``, pre i indexes ``in``); activations are ``(P, in)`` and ``(P, out)``; coefficients are
``(P, 5, out, in)`` in the order ``ABCD_LR_ORDER``.

The learning rate multiplies every term, so it is folded into A..D once per episode
(``fold_learning_rate``); the step itself (``abcd_lr_``) then writes the live weights in place with
``addcmul_``, which is both what makes plasticity act on the next forward pass and about six times
faster than building the update out of place.
"""

from __future__ import annotations

import torch

ABCD_LR_ORDER = ("A", "B", "C", "D", "eta")


def fold_learning_rate(coefficients: torch.Tensor) -> torch.Tensor:
    """Return ``(P, 4, out, in)`` holding eta*A, eta*B, eta*C, eta*D (exact: eta scales all)."""
    abcd, eta = coefficients[:, :4], coefficients[:, 4:5]
    return (abcd * eta).contiguous()


def abcd_lr_(
    weights: torch.Tensor, pre: torch.Tensor, post: torch.Tensor, folded: torch.Tensor
) -> None:
    """Apply one ABCD_lr step in place: w += eta*A o_i o_j + eta*B o_i + eta*C o_j + eta*D.

    ``folded`` comes from ``fold_learning_rate``. ``pre`` is o_i (P, in), ``post`` is o_j (P, out).
    """
    pre_row = pre.unsqueeze(1)  # o_i broadcast over post neurons: (P, 1, in)
    post_col = post.unsqueeze(2)  # o_j broadcast over pre neurons: (P, out, 1)
    weights.addcmul_(folded[:, 0], post_col * pre_row)
    weights.addcmul_(folded[:, 1], pre_row)
    weights.addcmul_(folded[:, 2], post_col)
    weights.add_(folded[:, 3])
