"""The rule update and its max |w| normalisation built for this CPU, with the eager update's bits.

One rule step, w += m (F_A o_i o_j + F_B o_i + F_C o_j + F_D) (Najarro & Risi 2020, the four
term factors of ``metaheb.rules``), then w / max|w| per agent and layer. ``update_kernel.cpp``
reads the weights and each factor once, writes the new weights back while it keeps their
maximum in registers, and divides the agent's layer while it is still in cache: the least
memory traffic a step can have (``scripts/memory_floor.py``). torch's compiled update writes the
sum to a temporary and reads it twice; measured alone, the built one is 1.5-1.8 times faster
(``scripts/bench_rules.py``). Each product and fused multiply-add is the eager update's, in its
order, so the bits are the same; ``metaheb.rules.fused_update_works`` checks that once per process,
on shapes whose rows fill the vector loop and its remainder, with and without modulation and
with terms missing; a one-line notice and torch's compiled update otherwise.

The kernel takes float32 layers whose (out, in) block is contiguous per agent (what
``PolicyNetwork.start_episode`` makes); ``takes`` says whether a call qualifies, and anything
else goes to torch's compiled update.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import torch

from metaheb import native
from metaheb.errors import compiled_path_notice

SOURCE = Path(__file__).with_name("update_kernel.cpp")
_POINTER = ctypes.c_void_p
_INT64 = ctypes.c_int64
_POINTERS, _STRIDES = _POINTER * 4, _INT64 * 4  # the four term factors (null: no such term)
_ARGTYPES = [
    _POINTER, _INT64, _POINTERS, _STRIDES,  # weights, agent stride, factors, their strides
    _POINTER, _POINTER, _POINTER, _POINTER, _POINTER,  # the activations, the modulation
    _INT64, _INT64, _INT64, ctypes.c_int,  # agents, out, in, normalise
]  # fmt: skip


def available() -> bool:
    """Whether the kernel built and loaded here (a one-line notice, once, where it did not)."""
    return _kernel() is not None


@functools.cache
def _kernel() -> ctypes._CFuncPtr | None:
    """The built ``hebbian_update``, or None (with a notice) where nothing builds."""
    try:
        return native.load(native.build(SOURCE), "hebbian_update", _ARGTYPES)
    except native.BUILD_ERRORS as error:
        notice(f"it does not build here ({native.build_error_line(error)})")
        return None


def _block_contiguous(tensor: torch.Tensor) -> bool:
    """Whether each agent's ``(out, in)`` block is contiguous, size-1 dimensions' strides aside."""
    _, out, inputs = tensor.shape
    return (out == 1 or tensor.stride(1) == inputs) and (inputs == 1 or tensor.stride(2) == 1)


def takes(weights: torch.Tensor, terms: tuple, pre: torch.Tensor, post: torch.Tensor) -> bool:
    """Whether the kernel serves this layer: float32 throughout, the factors of the weights'
    shape, each agent's block contiguous (any agent stride). Called at every step, so the
    common case costs a few attribute reads."""
    shape, inner = weights.shape, (weights.shape[2], 1)
    for tensor in (weights, *terms):
        if tensor is None:
            continue
        if tensor.dtype != torch.float32 or tensor.shape != shape:
            return False
        if tensor.stride()[1:] != inner and not _block_contiguous(tensor):
            return False
    return pre.dtype == torch.float32 and post.dtype == torch.float32


def built_hebbian_step_(
    weights: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    terms: tuple,
    scale: torch.Tensor | None = None,
    normalise: bool = False,
) -> None:
    """``hebbian_step_`` then, with ``normalise``, ``normalise_max_abs_``, by the built kernel,
    for a layer it ``takes``.

    The vectors are prepared as the eager update prepares them: the modulation m multiplies
    o_i and o_j (for the F_B and F_C terms and o_j of the Hebbian product) and F_D (m F_D)."""
    agents, out, inputs = weights.shape
    pre, post = pre.contiguous(), post.contiguous()
    scaled_pre, scaled_post, scale_address = pre, post, None
    if scale is not None:
        scale = scale.float().contiguous()
        scaled_pre, scaled_post = pre * scale[:, None], post * scale[:, None]
        scale_address = scale.data_ptr()
    factors, strides = _POINTERS(), _STRIDES()
    for k, factor in enumerate(terms):
        if factor is not None:
            factors[k], strides[k] = factor.data_ptr(), factor.stride(0)
    _kernel()(
        weights.data_ptr(),
        weights.stride(0),
        factors,
        strides,
        scaled_post.data_ptr(),
        pre.data_ptr(),
        scaled_pre.data_ptr(),
        scaled_post.data_ptr(),
        scale_address,
        agents,
        out,
        inputs,
        int(normalise),
    )


def notice(why: str) -> bool:
    compiled_path_notice("the rule update built for this CPU", why, "torch's compiled update")
    return False
