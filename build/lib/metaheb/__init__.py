"""metaheb: evolutionary meta-learning of Hebbian plasticity rules (Najarro & Risi 2020)."""

__version__ = "0.1.0"
