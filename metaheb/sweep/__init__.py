"""Sweeps: a config's keys searched across seeds, with pruning and resume (``metaheb sweep``).

``spec`` reads and checks a sweep file; ``study`` runs it over an Optuna study; ``trial`` runs
one setting's seeds as ordinary run directories; ``metric`` reads a run's held-out centre;
``results`` and ``figure`` write what a user reads. docs/tuning.md says why Optuna.
"""

from metaheb.sweep.spec import SweepSpec, load_sweep

__all__ = ["SweepSpec", "load_sweep"]
