"""Hebbian plasticity rules, batched over a population of agents.

Najarro & Risi (2020), "Meta-learning through Hebbian plasticity in random networks": every
synapse w_ij from pre-synaptic neuron i to post-synaptic neuron j has its own coefficients and
changes at every step by one of these rules (o_i pre, o_j post activation):

    A                      dw = A o_i o_j
    AD                     dw = A o_i o_j + D
    AD_lr                  dw = eta (A o_i o_j + D)
    ABC                    dw = A o_i o_j + B o_i + C o_j
    ABC_lr                 dw = eta (A o_i o_j + B o_i + C o_j)
    ABCD                   dw = A o_i o_j + B o_i + C o_j + D
    ABCD_lr   (default)    dw = eta (A o_i o_j + B o_i + C o_j + D)
    ABCD_lr_D_out          dw = eta (A o_i o_j + B o_i + C o_j) + D
    ABCD_lr_D_in_and_out   dw = eta (A o_i o_j + B o_i + C o_j + D_in) + D_out

Every rule is a sum of four terms, each a per-synapse factor times o_i o_j, o_i, o_j or 1. So one
implementation serves all nine: ``fold`` turns a rule's coefficients into the four factors (eta
multiplied in once per episode, exact since it scales its terms), and ``hebbian_step_`` adds the
terms to the live weights in place (``addcmul_``: about six times faster than building dw out of
place, and in place is what lets plasticity act on the next forward pass).

``fused_hebbian_step_`` is the same update compiled (torch.compile) into one loop over memory:
eager, the four terms take about fourteen passes over layer-sized arrays (each ``addcmul_``
reads the weights and a factor and writes the weights; the outer product is a temporary); fused,
the weights and each factor are read once and the weights written once. It is opt-in
(``network.fused``): it needs a C++ compiler and compiles for about half a minute on first use
(cached on disk after), and its rounding differs from the eager update's, so an agent records
which one it ran with.

Shapes: weights ``(P, out, in)`` for P agents (post j indexes ``out``, pre i indexes ``in``);
activations ``(P, in)`` and ``(P, out)``; a rule's coefficients ``(P, k, out, in)`` in the order
of ``Rule.coefficients``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch


class Terms(NamedTuple):
    """Per-synapse factors of o_i o_j, o_i, o_j and 1; None where the rule has no such term."""

    hebbian: torch.Tensor | None
    pre: torch.Tensor | None
    post: torch.Tensor | None
    constant: torch.Tensor | None


@dataclass(frozen=True)
class Rule:
    """A rule's coefficient names, and which of them the learning rate eta multiplies."""

    name: str
    coefficients: tuple[str, ...]
    scaled_by_eta: tuple[str, ...] = ()
    equation: str = ""  # the right-hand side of dw = ..., for display

    @property
    def size(self) -> int:
        return len(self.coefficients)

    def fold(self, coefficients: torch.Tensor) -> Terms:
        """``(P, k, out, in)`` coefficients -> the four term factors, eta folded in."""
        named = {name: coefficients[:, k] for k, name in enumerate(self.coefficients)}
        eta = named.get("eta")

        def factor(name: str) -> torch.Tensor | None:
            if name not in named:
                return None
            value = named[name]
            return (value * eta) if name in self.scaled_by_eta else value.contiguous()

        constant = factor("D") if "D" in named else factor("D_in")
        if "D_out" in named:
            constant = constant + named["D_out"]
        return Terms(factor("A"), factor("B"), factor("C"), constant)


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("A", ("A",), (), "A o_i o_j"),
        Rule("AD", ("A", "D"), (), "A o_i o_j + D"),
        Rule("AD_lr", ("A", "D", "eta"), ("A", "D"), "eta (A o_i o_j + D)"),
        Rule("ABC", ("A", "B", "C"), (), "A o_i o_j + B o_i + C o_j"),
        Rule("ABC_lr", ("A", "B", "C", "eta"), ("A", "B", "C"), "eta (A o_i o_j + B o_i + C o_j)"),
        Rule("ABCD", ("A", "B", "C", "D"), (), "A o_i o_j + B o_i + C o_j + D"),
        Rule(
            "ABCD_lr",
            ("A", "B", "C", "D", "eta"),
            ("A", "B", "C", "D"),
            "eta (A o_i o_j + B o_i + C o_j + D)",
        ),
        Rule(
            "ABCD_lr_D_out",
            ("A", "B", "C", "D", "eta"),
            ("A", "B", "C"),
            "eta (A o_i o_j + B o_i + C o_j) + D",
        ),
        Rule(
            "ABCD_lr_D_in_and_out",
            ("A", "B", "C", "D_in", "eta", "D_out"),
            ("A", "B", "C", "D_in"),
            "eta (A o_i o_j + B o_i + C o_j + D_in) + D_out",
        ),
    )
}


def hebbian_step_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    terms: Terms,
    scale: torch.Tensor | None = None,
) -> None:
    """Apply one rule step in place: w += m (F_A o_i o_j + F_B o_i + F_C o_j + F_D).

    ``scale`` is each agent's modulation m ``(P,)`` (``metaheb.modulation``); None is m = 1 with
    no multiplication at all. m is folded into the activations (m o_i, m o_j), which costs
    vectors rather than another pass over the layer.
    """
    pre_row = pre.unsqueeze(1)  # o_i broadcast over post neurons: (P, 1, in)
    post_col = post.unsqueeze(2)  # o_j broadcast over pre neurons: (P, out, 1)
    scaled_pre, scaled_post = pre_row, post_col
    if scale is not None:
        scaled_pre, scaled_post = pre_row * scale.view(-1, 1, 1), post_col * scale.view(-1, 1, 1)
    if terms.hebbian is not None:
        weights.addcmul_(terms.hebbian, scaled_post * pre_row)
    if terms.pre is not None:
        weights.addcmul_(terms.pre, scaled_pre)
    if terms.post is not None:
        weights.addcmul_(terms.post, scaled_post)
    if terms.constant is not None:
        if scale is None:
            weights.add_(terms.constant)
        else:
            weights.addcmul_(terms.constant, scale.view(-1, 1, 1))


def _hebbian_sum_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    hebbian: torch.Tensor | None,
    pre_factor: torch.Tensor | None,
    post_factor: torch.Tensor | None,
    constant: torch.Tensor | None,
    scale: torch.Tensor | None = None,
) -> None:
    """w += m (F_A o_i o_j + F_B o_i + F_C o_j + F_D) as one expression, for the compiler to
    fuse; ``scale`` None is m = 1."""
    pre_row, post_col = pre.unsqueeze(1), post.unsqueeze(2)
    change = [
        factor * basis
        for factor, basis in (
            (hebbian, post_col * pre_row),
            (pre_factor, pre_row),
            (post_factor, post_col),
        )
        if factor is not None
    ]
    if constant is not None:
        change.append(constant)
    total = sum(change[1:], change[0])
    weights.add_(total if scale is None else total * scale.view(-1, 1, 1))


_compiled_step = None


def fused_hebbian_step_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    terms: Terms,
    scale: torch.Tensor | None = None,
) -> None:
    """``hebbian_step_`` compiled into one pass (see the module docstring); compiled on first
    use, for any population and layer size (dynamic shapes)."""
    global _compiled_step
    if _compiled_step is None:
        # One graph per rule's set of terms, with or without modulation, and torch specialises a
        # population of one apart: up to forty graphs, more than the default eight per function.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        _compiled_step = torch.compile(_hebbian_sum_, dynamic=True, fullgraph=True)
    _compiled_step(weights, pre, post, *terms, scale)
