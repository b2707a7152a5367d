"""Scorers: one module per scorer family.

* :mod:`~dprune.scorers.kmeans`: :class:`KMeansCentroidDistanceScorer` (embeddings + k-means);
* :mod:`~dprune.scorers.semantic_duplicates`: :class:`SemanticDuplicateScorer` (SemDeDup);
* :mod:`~dprune.scorers.perplexity`: :class:`PerplexityScorer` (KenLM);
* :mod:`~dprune.scorers.confident`: :class:`ConfidentLearningScorer` (out-of-fold label quality, confident learning);
* :mod:`~dprune.scorers.cross_entropy`: :class:`CrossEntropyScorer` (loss of a given model);
* :mod:`~dprune.scorers.dynamics`: scores from training dynamics (forgetting, AUM, EL2N, data maps, loss);
* :mod:`~dprune.scorers.corpus`: exact and MinHash near-duplicates, Gopher quality statistics, language id;
* :mod:`~dprune.scorers.audio`: speech signal quality (duration, speech ratio, SNR, clipping, loudness, speaking rate);
* :mod:`~dprune.scorers.asr`: transcript agreement (:class:`WERScorer`, :class:`CERScorer`, offline ASR).
"""

from dprune.scorers.asr import CERScorer, WERScorer
from dprune.scorers.audio import (
    ClippingRatioScorer,
    DurationScorer,
    LoudnessScorer,
    SNRScorer,
    SpeakingRateScorer,
    SpeechRatioScorer,
)
from dprune.scorers.confident import ConfidentLearningScorer
from dprune.scorers.corpus import ExactDuplicateScorer, LanguageScorer, NearDuplicateScorer, QualityStatisticScorer
from dprune.scorers.cross_entropy import CrossEntropyScorer
from dprune.scorers.dynamics import (
    AUMScorer,
    DataMapConfidenceScorer,
    DataMapCorrectnessScorer,
    DataMapVariabilityScorer,
    EL2NScorer,
    ForgettingScorer,
    TrainingLossScorer,
)
from dprune.scorers.kmeans import KMeansCentroidDistanceScorer
from dprune.scorers.perplexity import PerplexityScorer
from dprune.scorers.semantic_duplicates import SemanticDuplicateScorer

__all__ = [
    "AUMScorer",
    "CERScorer",
    "ClippingRatioScorer",
    "ConfidentLearningScorer",
    "DurationScorer",
    "LoudnessScorer",
    "SNRScorer",
    "SpeakingRateScorer",
    "SpeechRatioScorer",
    "CrossEntropyScorer",
    "DataMapConfidenceScorer",
    "DataMapCorrectnessScorer",
    "DataMapVariabilityScorer",
    "EL2NScorer",
    "ExactDuplicateScorer",
    "ForgettingScorer",
    "KMeansCentroidDistanceScorer",
    "LanguageScorer",
    "NearDuplicateScorer",
    "PerplexityScorer",
    "QualityStatisticScorer",
    "SemanticDuplicateScorer",
    "TrainingLossScorer",
    "WERScorer",
]
