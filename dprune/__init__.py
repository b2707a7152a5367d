"""dPrune: score every example of a dataset, then keep the best subset.

The library never imports Prefect; the workflow in ``tasks/`` and ``flows/``
runs the same code with the artifact store underneath.
"""

from dprune.base import Pruner, Scorer
from dprune.budget import resolve_budget
from dprune.params import InvalidParameterError
from dprune.pipeline import PruningPipeline
from dprune.registry import PRUNERS, SCORERS, register_pruner, register_scorer

__version__ = "0.2.0"

__all__ = [
    "InvalidParameterError",
    "PRUNERS",
    "Pruner",
    "PruningPipeline",
    "SCORERS",
    "Scorer",
    "__version__",
    "register_pruner",
    "register_scorer",
    "resolve_budget",
]
