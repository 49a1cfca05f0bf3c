"""OpenAI-ES, as used by Najarro & Risi (2020) to evolve Hebbian rules.

Salimans, Ho, Chen, Sidor & Sutskever (2017), "Evolution Strategies as a Scalable Alternative to
Reinforcement Learning". One generation:

    eps_1..eps_{N/2} ~ N(0, I);  eps_{N/2+k} = -eps_k            (antithetic pairs)
    x_i = theta + sigma eps_i;   f_i = fitness(x_i) - l2 mean(x_i[m]^2)
    r = standardise(centred_ranks(f))       (ranks mapped to [-0.5, 0.5]; shaping "raw": f itself)
    theta <- theta + lr / (N sigma) sum_i r_i eps_i               (plain SGD, as the paper's code)
    lr <- max(lr_min, lr * lr_decay);  sigma <- max(sigma_min, sigma * sigma_decay)

m selects the penalised entries (``evolve.l2_on``): the rule coefficients, as the authors' code
penalises only those (not the convolutions or co-evolved initial weights), or the whole genome.

EvoTorch has no OpenES: ``openes_ask`` / ``openes_tell`` are the pure algorithm over a small state,
and ``OpenES`` wraps them as an EvoTorch ``SearchAlgorithm`` so it runs on any EvoTorch ``Problem``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from evotorch import Problem, SolutionBatch
from evotorch.algorithms.searchalgorithm import SearchAlgorithm, SinglePopulationAlgorithmMixin

from metaheb.config import EvolveConfig


@dataclass(frozen=True)
class OpenESState:
    center: torch.Tensor  # theta, (G,)
    lr: float
    sigma: float


def openes_init(config: EvolveConfig, size: int, generator: torch.Generator) -> OpenESState:
    center = torch.randn(size, generator=generator) * config.init_std
    return OpenESState(center=center, lr=config.lr, sigma=config.sigma)


def openes_ask(
    state: OpenESState, popsize: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (solutions, eps), both ``(popsize, G)``, in antithetic pairs (k, k + popsize/2)."""
    half = torch.randn(popsize // 2, state.center.numel(), generator=generator)
    eps = torch.cat([half, -half])
    return state.center + state.sigma * eps, eps


def centred_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks of ``values`` mapped linearly onto [-0.5, 0.5] (ties broken by position)."""
    ranks = torch.empty_like(values)
    ranks[values.argsort(stable=True)] = torch.arange(len(values), dtype=values.dtype)
    return ranks / (len(values) - 1) - 0.5


def openes_tell(
    state: OpenESState,
    config: EvolveConfig,
    solutions: torch.Tensor,
    eps: torch.Tensor,
    fitness: torch.Tensor,
    penalised: torch.Tensor | None = None,
) -> OpenESState:
    """One SGD step of theta along the rank-weighted noise; decay lr and sigma.

    ``penalised``: a boolean mask of the genome entries the L2 term sees (None: all).
    """
    if penalised is not None and not bool(penalised.all()):
        solutions = solutions[:, penalised]
    # mean(x^2) through the norm: no population-sized temporary (2.4 GB at 10,000 genomes).
    mean_square = torch.linalg.vector_norm(solutions, dim=1).double().pow(2) / solutions.shape[1]
    penalised = fitness.double() - config.l2 * mean_square
    weights = centred_ranks(penalised) if config.shaping == "centered" else penalised
    weights = (weights - weights.mean()) / (weights.std() + 1e-8)
    step = (weights.to(eps.dtype) @ eps) * (state.lr / (len(fitness) * state.sigma))
    return replace(
        state,
        center=state.center + step,
        lr=max(config.lr_min, state.lr * config.lr_decay),
        sigma=max(config.sigma_min, state.sigma * config.sigma_decay),
    )


class OpenES(SearchAlgorithm, SinglePopulationAlgorithmMixin):
    """OpenAI-ES on EvoTorch's searcher interface (maximises the problem's single objective)."""

    def __init__(
        self,
        problem: Problem,
        config: EvolveConfig,
        seed: int,
        penalised: torch.Tensor | None = None,
    ) -> None:
        SearchAlgorithm.__init__(
            self,
            problem,
            center=lambda: self.state.center,
            stdev=lambda: self.state.sigma,
            lr=lambda: self.state.lr,
        )
        if problem.senses != ["max"]:
            raise ValueError("OpenES here maximises a single objective")
        self.config = config
        self.penalised = penalised
        self.generator = torch.Generator().manual_seed(seed)
        self.state = openes_init(config, problem.solution_length, self.generator)
        self._population = SolutionBatch(problem, popsize=config.popsize, empty=True)
        SinglePopulationAlgorithmMixin.__init__(self)

    @property
    def population(self) -> SolutionBatch:
        return self._population

    def _step(self) -> None:
        solutions, eps = openes_ask(self.state, self.config.popsize, self.generator)
        self._population.access_values()[:] = solutions
        self.problem.evaluate(self._population)
        fitness = self._population.evals[:, 0].as_subclass(torch.Tensor).clone()
        self.state = openes_tell(self.state, self.config, solutions, eps, fitness, self.penalised)
