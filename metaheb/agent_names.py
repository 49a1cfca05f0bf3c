"""The agents a run directory keeps, ``agents/NAME.safetensors``, and what each one is.

Apart from ``runs`` so that the command line can offer the names without importing torch.
"""

AGENTS = {
    "best": "the best member of any generation, on that generation's training episodes",
    "center": "the final search centre",
    "best_center": "the search centre with the best held-out score of the run",
}
