"""Selection: exact, deterministic pruners working on score arrays.

One module per selection family:

* :mod:`~dprune.pruners.ranking`: :class:`TopKPruner`, :class:`BottomKPruner`;
* :mod:`~dprune.pruners.random_sampling`: :class:`RandomPruner`;
* :mod:`~dprune.pruners.stratified`: :class:`StratifiedPruner`, :class:`CoverageCentricPruner`;
* :mod:`~dprune.pruners.threshold`: :class:`ThresholdPruner`, :class:`QuantileBandPruner`;
* :mod:`~dprune.pruners.balanced`: :class:`ClassBalancedPruner`;
* :mod:`~dprune.pruners.combine`: :func:`combine_scores`, :class:`CombinedScorePruner`;
* :mod:`~dprune.pruners.data_map`: :class:`DataMapRegionPruner` (training-dynamics regions);
* :mod:`~dprune.pruners.ranges`: :class:`RangesPruner` (per-column ranges; the default speech rule);
* :mod:`~dprune.pruners.gopher`: :class:`GopherPruner` (the Gopher quality rules, explained per row).

Shared pieces live in :mod:`~dprune.pruners.base` (:class:`ScorePruner`,
:func:`selected_row_ids`) and :mod:`~dprune.pruners.allocation`
(largest-remainder and coverage-centric allocation, sampling within groups).
"""

from dprune.pruners.allocation import allocate, allocate_smallest_first, largest_remainder
from dprune.pruners.balanced import ClassBalancedPruner
from dprune.pruners.base import ScorePruner, selected_row_ids
from dprune.pruners.combine import CombinedScorePruner, combine_scores
from dprune.pruners.data_map import DataMapRegionPruner
from dprune.pruners.gopher import GopherPruner
from dprune.pruners.random_sampling import RandomPruner
from dprune.pruners.ranges import SPEECH_QUALITY_RANGES, RangesPruner
from dprune.pruners.ranking import BottomKPruner, TopKPruner
from dprune.pruners.stratified import CoverageCentricPruner, StratifiedPruner, assign_strata
from dprune.pruners.threshold import QuantileBandPruner, ThresholdPruner

__all__ = [
    "BottomKPruner",
    "ClassBalancedPruner",
    "CombinedScorePruner",
    "CoverageCentricPruner",
    "DataMapRegionPruner",
    "GopherPruner",
    "QuantileBandPruner",
    "RandomPruner",
    "RangesPruner",
    "SPEECH_QUALITY_RANGES",
    "ScorePruner",
    "StratifiedPruner",
    "ThresholdPruner",
    "TopKPruner",
    "allocate",
    "allocate_smallest_first",
    "assign_strata",
    "combine_scores",
    "largest_remainder",
    "selected_row_ids",
]
