"""dPrune: score every example of a dataset, then keep the best subset.

The library never imports Prefect; the workflow in ``tasks/`` and ``flows/``
runs the same code with the artifact store underneath.
"""

from dprune.core.base import Pruner, Scorer
from dprune.core.budget import resolve_budget
from dprune.core.params import InvalidParameterError
from dprune.core.pipeline import PruningPipeline
from dprune.pruners import (
    BottomKPruner,
    ClassBalancedPruner,
    CombinedScorePruner,
    CoverageCentricPruner,
    DataMapRegionPruner,
    GopherPruner,
    QuantileBandPruner,
    RandomPruner,
    RangesPruner,
    StratifiedPruner,
    ThresholdPruner,
    TopKPruner,
)
from dprune.core.registry import PRUNERS, SCORERS, register_pruner, register_scorer
from dprune.scorers import (
    AUMScorer,
    CERScorer,
    ClippingRatioScorer,
    ConfidentLearningScorer,
    DurationScorer,
    LoudnessScorer,
    SNRScorer,
    SpeakingRateScorer,
    SpeechRatioScorer,
    CrossEntropyScorer,
    DataMapConfidenceScorer,
    DataMapCorrectnessScorer,
    DataMapVariabilityScorer,
    EL2NScorer,
    ExactDuplicateScorer,
    ForgettingScorer,
    KMeansCentroidDistanceScorer,
    LanguageScorer,
    NearDuplicateScorer,
    PerplexityScorer,
    QualityStatisticScorer,
    SemanticDuplicateScorer,
    TrainingLossScorer,
    WERScorer,
)

__version__ = "0.2.0"

__all__ = [
    "AUMScorer",
    "CERScorer",
    "ClippingRatioScorer",
    "DurationScorer",
    "LoudnessScorer",
    "SNRScorer",
    "SpeakingRateScorer",
    "SpeechRatioScorer",
    "BottomKPruner",
    "ClassBalancedPruner",
    "CombinedScorePruner",
    "ConfidentLearningScorer",
    "CoverageCentricPruner",
    "CrossEntropyScorer",
    "DataMapConfidenceScorer",
    "DataMapCorrectnessScorer",
    "DataMapRegionPruner",
    "DataMapVariabilityScorer",
    "EL2NScorer",
    "ExactDuplicateScorer",
    "ForgettingCallback",
    "ForgettingScorer",
    "GopherPruner",
    "InvalidParameterError",
    "KMeansCentroidDistanceScorer",
    "LanguageScorer",
    "NearDuplicateScorer",
    "PRUNERS",
    "PerplexityScorer",
    "Pruner",
    "PruningPipeline",
    "QualityStatisticScorer",
    "QuantileBandPruner",
    "RandomPruner",
    "RangesPruner",
    "SCORERS",
    "Scorer",
    "SemanticDuplicateScorer",
    "StratifiedPruner",
    "ThresholdPruner",
    "TopKPruner",
    "TrainingLossScorer",
    "WERScorer",
    "__version__",
    "register_pruner",
    "register_scorer",
    "resolve_budget",
]


def __getattr__(name: str):
    # ForgettingCallback subclasses transformers' TrainerCallback; importing it lazily keeps
    # `import dprune` free of the transformers training stack until the callback is used.
    if name == "ForgettingCallback":
        from dprune.dynamics.callback import ForgettingCallback

        return ForgettingCallback
    raise AttributeError(f"module 'dprune' has no attribute {name!r}")
