"""Corpus-scale filters on arrays: exact and near-duplicates, Gopher quality statistics, language id.

* :mod:`~dprune.corpus.exact`: hash of the normalized text, groups of equal hashes;
* :mod:`~dprune.corpus.minhash`: shingles, MinHash signatures, LSH, verification, components;
* :mod:`~dprune.corpus.quality`: the Gopher statistics and rules;
* :mod:`~dprune.corpus.language`: language and confidence (py3langid);
* :mod:`~dprune.corpus.tokens` and :mod:`~dprune.corpus.hashing`: the shared splitting and hashing.

No store and no Prefect here: the scorers and stages call these functions.
"""

from dprune.corpus.exact import DuplicateGroups, duplicate_groups, exact_hashes
from dprune.corpus.language import identify_languages, language_labels
from dprune.corpus.minhash import NearDuplicates, near_duplicates
from dprune.corpus.quality import GOPHER_RULES, QUALITY_STATISTICS, quality_statistics

__all__ = [
    "DuplicateGroups",
    "GOPHER_RULES",
    "NearDuplicates",
    "QUALITY_STATISTICS",
    "duplicate_groups",
    "exact_hashes",
    "identify_languages",
    "language_labels",
    "near_duplicates",
    "quality_statistics",
]
