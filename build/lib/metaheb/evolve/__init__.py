"""Evolution: searchers (ask/tell), the Ray evaluator, and the generation loop (layer 4)."""
