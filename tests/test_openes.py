"""OpenES: antithetic sampling, centred ranks, the paper's update, and it optimises."""

import torch
from evotorch import Problem

from metaheb.config import EvolveConfig
from metaheb.evolve.openes import OpenES, centred_ranks, openes_ask, openes_init, openes_tell


def test_centred_ranks_span_minus_half_to_half():
    ranks = centred_ranks(torch.tensor([3.0, -1.0, 10.0, 0.0, 2.0]))
    assert torch.equal(ranks, torch.tensor([0.25, -0.5, 0.5, -0.25, 0.0]))


def test_ask_is_antithetic():
    config = EvolveConfig(popsize=6, init_std=1.0)
    generator = torch.Generator().manual_seed(0)
    state = openes_init(config, 4, generator)
    solutions, eps = openes_ask(state, 6, generator)
    assert torch.equal(eps[:3], -eps[3:])
    torch.testing.assert_close(solutions, state.center + state.sigma * eps)


def test_tell_is_the_papers_sgd_step_with_decays():
    config = EvolveConfig(
        popsize=4,
        lr=0.2,
        sigma=0.1,
        l2=0.0,
        lr_decay=0.5,
        sigma_decay=0.5,
        lr_min=0.15,
        sigma_min=0.01,
    )
    generator = torch.Generator().manual_seed(1)
    state = openes_init(config, 3, generator)
    solutions, eps = openes_ask(state, 4, generator)
    fitness = torch.tensor([1.0, 4.0, 2.0, 3.0])
    new = openes_tell(state, config, solutions, eps, fitness)
    ranks = torch.tensor([-0.5, 0.5, -1 / 6, 1 / 6], dtype=torch.float64)
    ranks = (ranks - ranks.mean()) / ranks.std()
    expected = state.center + 0.2 / (4 * 0.1) * (ranks.float() @ eps)
    torch.testing.assert_close(new.center, expected)
    assert (new.lr, new.sigma) == (0.15, 0.05)  # lr hit its floor, sigma halved


def test_l2_penalty_changes_the_ranking():
    config = EvolveConfig(popsize=2, l2=1.0)
    state = openes_init(config, 1, torch.Generator().manual_seed(0))
    solutions = torch.tensor([[10.0], [0.0]])
    eps = torch.tensor([[1.0], [-1.0]])
    # Member 0 has the higher raw fitness but a far larger penalty: theta moves toward member 1.
    new = openes_tell(state, config, solutions, eps, torch.tensor([1.0, 0.0]))
    assert new.center < state.center


def test_openes_maximises_through_evotorch():
    problem = Problem(
        "max", lambda x: -(x - 3.0).pow(2).sum(dim=-1), solution_length=10, vectorized=True
    )
    config = EvolveConfig(popsize=40, lr=0.5, sigma=0.3, l2=0.0, init_std=1.0)
    searcher = OpenES(problem, config, seed=0)
    start = float((searcher.state.center - 3.0).pow(2).sum())
    searcher.run(60)
    end = float((searcher.state.center - 3.0).pow(2).sum())
    assert end < 0.05 * start
    assert searcher.status["mean_eval"] > -5
