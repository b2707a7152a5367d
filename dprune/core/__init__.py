"""The contracts every component shares: Scorer and Pruner, parameters, budget, registry, keys."""
