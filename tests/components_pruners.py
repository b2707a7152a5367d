"""Tiny valid instances and known-bad parameters of every registered pruner, for tests/test_common.py.

The common checks run the instances on a 12-row dataset with columns
``row_id`` (int), ``text`` (str), ``label`` (int 0/1) and ``score`` (float).
"""

from __future__ import annotations

from typing import Callable

from dprune.core.base import Pruner
from dprune.pruners import (
    BottomKPruner,
    ClassBalancedPruner,
    CombinedScorePruner,
    CoverageCentricPruner,
    GopherPruner,
    QuantileBandPruner,
    RandomPruner,
    StratifiedPruner,
    ThresholdPruner,
    TopKPruner,
)
from dprune.pruners.data_map import DataMapRegionPruner
from dprune.pruners.ranges import RangesPruner

PRUNER_FACTORIES: dict[str, Callable[[], list[Pruner]]] = {
    "top_k": lambda: [TopKPruner(k=0.5), TopKPruner(k=3, order="original"), TopKPruner(k=1.0)],
    "bottom_k": lambda: [BottomKPruner(k=0.25), BottomKPruner(k=100)],
    "random": lambda: [RandomPruner(k=0.5, seed=0), RandomPruner(k=5)],
    "stratified": lambda: [
        StratifiedPruner(k=0.5, num_strata=3, seed=0),
        StratifiedPruner(k=4, num_strata=4, strata="width", order="score"),
    ],
    "coverage_centric": lambda: [
        CoverageCentricPruner(k=0.5, beta=0.1, num_strata=3, seed=0),
        CoverageCentricPruner(k=3, num_strata=2, hardest="low"),
    ],
    "ranges": lambda: [
        RangesPruner(ranges={"score": (-0.5, None)}),
        RangesPruner(ranges={"score": [None, 1.0], "label": [0, 0]}, nan_policy="raise"),
    ],
    "threshold": lambda: [
        ThresholdPruner(low=-0.5, high=1.5),
        ThresholdPruner(),
        ThresholdPruner(high=0.0, inclusive="neither"),
    ],
    "gopher": lambda: [GopherPruner(), GopherPruner(rules={"word_count": (5, None), "top_2gram_chars": (None, 0.2)}, batch_size=5)],
    "quantile_band": lambda: [QuantileBandPruner(band=(0.25, 0.75)), QuantileBandPruner(band="head", order="score")],
    "class_balanced": lambda: [
        ClassBalancedPruner(TopKPruner(k=1), k=0.5),
        ClassBalancedPruner(RandomPruner(k=1, seed=3), k=5, mode="equal"),
    ],
    "combined_score": lambda: [
        CombinedScorePruner(TopKPruner(k=0.5), score_columns=["score", "label"]),
        CombinedScorePruner(BottomKPruner(k=4), score_columns=["score"], method="zscore", weights=[2.0]),
    ],
    # Owned by the training-dynamics work; the tiny dataset's "score" stands in for both statistics.
    "data_map_region": lambda: [
        DataMapRegionPruner(k=0.5, confidence_column="score", variability_column="score"),
        DataMapRegionPruner(region="hard-to-learn", k=3, confidence_column="score", order="score"),
    ],
}

PRUNER_BAD_PARAMS: dict[str, list[tuple[dict, str]]] = {
    "gopher": [
        ({"rules": {"perplexity": (0, 1)}}, "rules"),
        ({"rules": {"word_count": (10, 5)}}, "rules"),
        ({"rules": {}}, "rules"),
        ({"batch_size": 0}, "batch_size"),
    ],
    "top_k": [
        ({"k": 1.5}, "k"),
        ({"k": True}, "k"),
        ({"k": 0}, "k"),
        ({"order": "desc"}, "order"),
        ({"nan_policy": "ignore"}, "nan_policy"),
        ({"score_column": ""}, "score_column"),
    ],
    "bottom_k": [({"k": -0.1}, "k"), ({"k": float("nan")}, "k")],
    "random": [({"k": 0.0}, "k"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed")],
    "stratified": [({"num_strata": 0}, "num_strata"), ({"strata": "equal"}, "strata"), ({"k": 2.0}, "k")],
    "coverage_centric": [({"beta": 1.0}, "beta"), ({"hardest": "hard"}, "hardest"), ({"num_strata": 2.5}, "num_strata")],
    "ranges": [
        ({"ranges": {}}, "ranges"),
        ({"ranges": {"score": (1.0, 0.0)}}, "ranges"),
        ({"ranges": {"score": 0.5}}, "ranges"),
        ({"nan_policy": "last"}, "nan_policy"),
    ],
    "threshold": [({"low": "0"}, "low"), ({"low": 1.0, "high": 0.0}, "high"), ({"inclusive": "all"}, "inclusive")],
    "quantile_band": [({"band": (0.8, 0.2)}, "band"), ({"band": "top"}, "band"), ({"band": (0.0, 1.5)}, "band")],
    "class_balanced": [
        ({"k": 0}, "k"),
        ({"mode": "balanced"}, "mode"),
        ({"pruner": ThresholdPruner()}, "pruner"),
        ({"label_column": ""}, "label_column"),
    ],
    "combined_score": [
        ({"score_columns": []}, "score_columns"),
        ({"method": "mean"}, "method"),
        ({"weights": [1.0, 2.0, 3.0]}, "weights"),
        ({"pruner": "top_k"}, "pruner"),
    ],
    "data_map_region": [({"region": "middle"}, "region"), ({"k": 0}, "k"), ({"confidence_column": ""}, "confidence_column")],
}
