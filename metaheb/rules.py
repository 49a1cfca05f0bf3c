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

``fused_hebbian_step_`` is the same update in one pass over memory, the max |w| normalisation
after it included: eager, the four terms take about fourteen passes over layer-sized arrays (each
``addcmul_`` reads the weights and a factor and writes the weights; the outer product is a
temporary) and the normalisation two more; fused, the weights and each factor are read once and
the weights written once. It runs a kernel built for this CPU (``metaheb.update_kernel``) or,
where that does not build, the update compiled by torch.compile. Both perform the eager update's
operations in the eager order and round them the same way (a + b * c as one fused multiply-add,
as the eager kernels are built), so they give the eager update's bits: a run's numbers do not
depend on which one ran. ``fused_update_works`` checks that once per process and falls back with
a one-line notice where it does not hold or no C++ compiler is found. Building or compiling
takes a few seconds per machine or process (cached on disk), which long runs repay
(``network.fused = "auto"``).

Shapes: weights ``(P, out, in)`` for P agents (post j indexes ``out``, pre i indexes ``in``);
activations ``(P, in)`` and ``(P, out)``; a rule's coefficients ``(P, k, out, in)`` in the order
of ``Rule.coefficients``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from metaheb import update_kernel
from metaheb.errors import compiled_path_notice, first_line


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


def _max_abs(weights: torch.Tensor) -> torch.Tensor:
    """Each agent's max |w| ``(P, 1, 1)``, 1 for a zero layer (left as it is)."""
    peak = weights.abs().amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, peak, torch.ones_like(peak))


def normalise_max_abs_(weights: torch.Tensor) -> None:
    """Divide each agent's layer by its own max |w| in place; a zero layer is left as it is."""
    weights.div_(_max_abs(weights))


def _update_in_eager_order(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    hebbian: torch.Tensor | None,
    pre_factor: torch.Tensor | None,
    post_factor: torch.Tensor | None,
    constant: torch.Tensor | None,
    scale: torch.Tensor | None,
    normalise: bool,
) -> None:
    """``hebbian_step_`` then ``normalise_max_abs_`` (if ``normalise``) as one expression, the
    same operations in the same order, for the compiler to fuse into one pass over memory."""
    pre_row, post_col = pre.unsqueeze(1), post.unsqueeze(2)
    scaled_pre, scaled_post = pre_row, post_col
    if scale is not None:
        scaled_pre, scaled_post = pre_row * scale.view(-1, 1, 1), post_col * scale.view(-1, 1, 1)
    total = weights
    if hebbian is not None:
        total = total + hebbian * (scaled_post * pre_row)
    if pre_factor is not None:
        total = total + pre_factor * scaled_pre
    if post_factor is not None:
        total = total + post_factor * scaled_post
    if constant is not None:
        total = total + (constant if scale is None else constant * scale.view(-1, 1, 1))
    weights.copy_(total / _max_abs(total) if normalise else total)


_compiled_update = None


def fused_hebbian_step_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    terms: Terms,
    scale: torch.Tensor | None = None,
    normalise: bool = False,
) -> None:
    """``hebbian_step_`` (and ``normalise_max_abs_`` with ``normalise``) in one pass over memory,
    with the eager update's bits where ``fused_update_works``: the kernel built for this CPU
    (``metaheb.update_kernel``) where it serves the layer, torch's compiled update otherwise."""
    if _built_update_works() and update_kernel.takes(weights, terms, pre, post):
        update_kernel.built_hebbian_step_(weights, pre, post, terms, scale, normalise)
    else:
        _compiled_hebbian_step_(weights, pre, post, terms, scale, normalise)


def _compiled_hebbian_step_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    terms: Terms,
    scale: torch.Tensor | None,
    normalise: bool,
) -> None:
    """The update compiled by torch.compile on first use, for any population and layer size
    (dynamic shapes)."""
    global _compiled_update
    if _compiled_update is None:
        import torch._inductor.config as inductor

        # The eager kernels are built with the C++ compiler's default contraction, which turns
        # each addcmul's a + b * c into one fused multiply-add; the compiled update must round
        # the same way to give the same bits. The setting is part of the compile cache's key.
        inductor.cpp.enable_floating_point_contract_flag = "fast"
        # One graph per rule's set of terms, with or without modulation and normalisation, and
        # torch specialises a population of one apart: more than the default eight per function.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 128)
        _compiled_update = torch.compile(_update_in_eager_order, dynamic=True, fullgraph=True)
    _compiled_update(weights, pre, post, *terms, scale, normalise)


# Checked cases: rows that fill the vector loop and leave a remainder; modulated, a term missing.
_CHECKS = ((3, 5, 19, (), False), (2, 9, 21, (1,), True))


def _same_bits_as_eager(step: Callable[..., None]) -> bool:
    """Whether ``step(weights, pre, post, terms, scale, normalise=True)`` gives the eager update's
    bits (then max |w| normalisation) on ``_CHECKS``."""
    generator = torch.Generator().manual_seed(0)
    for agents, out, inputs, missing, modulated in _CHECKS:
        weights = torch.randn(agents, out, inputs, generator=generator)
        pre = torch.randn(agents, inputs, generator=generator)
        post = torch.randn(agents, out, generator=generator)
        factors = [torch.randn(agents, out, inputs, generator=generator) for _ in range(4)]
        terms = Terms(*(None if k in missing else f for k, f in enumerate(factors)))
        scale = torch.rand(agents, generator=generator) if modulated else None
        eager, other = weights.clone(), weights.clone()
        hebbian_step_(eager, pre, post, terms, scale)
        normalise_max_abs_(eager)
        step(other, pre, post, terms, scale, normalise=True)
        if not torch.equal(eager.view(torch.int32), other.view(torch.int32)):
            return False
    return True


@functools.cache
def _built_update_works() -> bool:
    """Whether this process has the built update with the eager update's bits (checked once)."""
    if not update_kernel.available():
        return False
    return _same_bits_as_eager(update_kernel.built_hebbian_step_) or update_kernel.notice(
        "its rounding differs from the eager update's on this machine"
    )


@functools.cache
def _compiled_update_works() -> bool:
    """Whether this process has torch's compiled update with the eager update's bits."""
    try:
        same = _same_bits_as_eager(_compiled_hebbian_step_)
    except Exception as error:  # any compiler failure: the eager update gives the same numbers
        _fallback_notice(f"it does not compile here ({first_line(error)[:160]})")
        return False
    return same or _fallback_notice("its rounding differs from the eager update's on this machine")


def fused_update_works() -> bool:
    """Whether this process can run the fused update with the eager update's bits: the built
    kernel, or else torch's compiled update (compiled only then). If neither holds, one line on
    stderr says so and the eager update serves instead: the same numbers, slower."""
    return _built_update_works() or _compiled_update_works()


def _fallback_notice(why: str) -> bool:
    compiled_path_notice("the fused rule update", why, "the eager update")
    return False
