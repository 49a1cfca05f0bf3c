"""Build the configured searcher: OpenES (metaheb's own) or one of EvoTorch's.

Each name of ``metaheb.config.SEARCHERS`` (its paper, population rules and builder) is built by
the function of this module that its entry names:

- ``openes``: OpenAI-ES as the paper (``metaheb.evolve.openes``);
- ``cmaes``: CMA-ES, Hansen & Ostermeier (2001), full covariance: memory grows as G^2;
- ``sepcmaes``: separable (diagonal) CMA-ES, Ros & Hansen (2008), linear in G;
- ``pgpe``: PGPE, Sehnke et al. (2010), with the ClipUp optimiser (Toklu et al. 2020);
- ``snes``: separable NES, Schaul, Glasmachers & Schmidhuber (2011).

Every searcher starts from the same centre, N(0, init_std^2) drawn from the run seed, with
sigma as its initial standard deviation, so that comparisons between them are like for like.
EvoTorch's searchers draw their samples from the problem's generator, seeded by the run seed.
"""

from __future__ import annotations

import os

import torch
from evotorch import Problem
from evotorch.algorithms import CMAES, PGPE, SNES
from evotorch.algorithms.searchalgorithm import SearchAlgorithm

from metaheb.config import SEARCHERS, EvolveConfig
from metaheb.errors import UserError
from metaheb.evolve.openes import OpenES
from metaheb.genome import GenomeLayout

# What evolve.l2_on = "coefficients" penalises: the rules (per synapse, or the bottleneck's bank
# and assignment), or a static network's weights; never convolutions or co-evolved start weights.
COEFFICIENTS = ("rule", "bank", "assign", "weights")


def full_cmaes_bytes(genome_size: int) -> int:
    """CMA-ES keeps C and its square root A, two G x G float32 matrices."""
    return 2 * 4 * genome_size**2


def check_memory(config: EvolveConfig, genome_size: int) -> None:
    """Refuse a full CMA-ES whose covariance would not fit in half of this machine's memory."""
    if config.algorithm != "cmaes":
        return
    needed = full_cmaes_bytes(genome_size)
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > available // 2:
        raise UserError(
            f"full CMA-ES on a genome of {genome_size:,} values needs {needed / 2**30:.1f} GiB "
            f"for its covariance (this machine has {available / 2**30:.0f} GiB): use "
            "evolve.algorithm=sepcmaes, or a bottleneck genome (network.bottleneck=16)"
        )


def make_searcher(
    config: EvolveConfig, problem: Problem, seed: int, layout: GenomeLayout | None = None
) -> SearchAlgorithm:
    """The searcher named by ``config.algorithm`` (``SEARCHERS``) over ``problem``, genomes laid
    out as ``layout`` (which says what ``evolve.l2_on = "coefficients"`` penalises)."""
    build = globals()[SEARCHERS[config.algorithm].builder]
    return build(config, problem, seed, layout)


def _shared(config: EvolveConfig, problem: Problem, seed: int) -> dict:
    """What every EvoTorch searcher is given alike: population, start centre and step size."""
    generator = torch.Generator().manual_seed(seed)
    return {
        "popsize": config.popsize,
        "center_init": torch.randn(problem.solution_length, generator=generator) * config.init_std,
        "stdev_init": config.sigma,
        "stdev_min": config.sigma_min or None,
    }


def openes(
    config: EvolveConfig, problem: Problem, seed: int, layout: GenomeLayout | None
) -> SearchAlgorithm:
    penalised = None
    if config.l2_on == "coefficients" and layout is not None:
        penalised = layout.mask(COEFFICIENTS)
    return OpenES(problem, config, seed, penalised)


def cmaes(
    config: EvolveConfig, problem: Problem, seed: int, layout: GenomeLayout | None
) -> SearchAlgorithm:
    """Full CMA-ES, or its separable form for ``sepcmaes``."""
    return CMAES(
        problem, separable=config.algorithm == "sepcmaes", **_shared(config, problem, seed)
    )


def pgpe(
    config: EvolveConfig, problem: Problem, seed: int, layout: GenomeLayout | None
) -> SearchAlgorithm:
    return PGPE(
        problem,
        center_learning_rate=config.lr,
        stdev_learning_rate=config.stdev_lr,
        optimizer="clipup",
        optimizer_config={"max_speed": 2 * config.lr},
        ranking_method={"centered": "centered", "raw": "raw"}[config.shaping],
        **_shared(config, problem, seed),
    )


def snes(
    config: EvolveConfig, problem: Problem, seed: int, layout: GenomeLayout | None
) -> SearchAlgorithm:
    return SNES(problem, **_shared(config, problem, seed))


def search_center(searcher: SearchAlgorithm) -> torch.Tensor:
    """The mean of the search distribution, as a plain tensor."""
    return torch.as_tensor(searcher.status["center"]).as_subclass(torch.Tensor).clone()


def search_spread(searcher: SearchAlgorithm) -> float:
    """The searcher's current step size: OpenES sigma, CMA-ES sigma, or PGPE/SNES mean stdev."""
    status = searcher.status
    for key in ("stdev", "stepsize"):
        if key in status:
            return float(torch.as_tensor(status[key]).as_subclass(torch.Tensor).float().mean())
    raise KeyError("searcher reports no step size")
