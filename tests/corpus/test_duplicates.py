"""Exact and near-duplicate groups on small corpora with known answers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dprune.corpus.exact import duplicate_groups, exact_hashes
from dprune.corpus.hashing import ngram_hashes, string_hashes
from dprune.corpus.minhash import (
    candidate_pairs,
    components,
    document_signatures,
    lsh_parameters,
    minhash_signatures,
    near_duplicates,
    shingle_hashes,
    shingle_jaccard,
    signature_similarity,
)

RNG = np.random.default_rng(11)


def letters(i: int) -> str:
    """A word of letters only (the default normalizer maps every digit to 0)."""
    word = ""
    while True:
        i, r = divmod(i, 26)
        word += chr(97 + r)
        if i == 0:
            return word


VOCABULARY = [letters(i) for i in range(5000)]


def words(n: int) -> list[str]:
    return list(RNG.choice(VOCABULARY, size=n, replace=False))


def replace(tokens: list[str], *positions: int) -> list[str]:
    out = list(tokens)
    for p in positions:
        out[p] = "new" + letters(p) + letters(len(out))
    return out


def jaccard(a: str, b: str, n: int = 5) -> float:
    """Word n-gram Jaccard with Python sets: the reference the domain code must agree with."""
    def grams(text):
        t = text.lower().split()
        return {tuple(t[i:i + n]) for i in range(len(t) - n + 1)}
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


# ------------------------------------------------------------------ exact
def test_exact_groups_of_three_with_normalization():
    texts = ["Hello   World!", "other text", "hello world !", "HELLO WORLD!", None, "", "other  TEXT"]
    groups = duplicate_groups(exact_hashes(texts))
    np.testing.assert_array_equal(groups.group, [0, 1, 0, 0, 4, 4, 1])
    np.testing.assert_array_equal(groups.is_duplicate, [0, 0, 1, 1, 0, 1, 1])


def test_exact_hashes_depend_on_the_normalizer_and_batching():
    texts = ["A b", "a b", "a  b"]
    assert len(set(exact_hashes(texts, "whitespace").tolist())) == 2  # case kept
    assert len(set(exact_hashes(texts).tolist())) == 1
    np.testing.assert_array_equal(
        np.concatenate([exact_hashes(texts[:1]), exact_hashes(texts[1:])]), exact_hashes(pa.chunked_array([texts]))
    )


def test_string_hashes_are_stable_values():
    # Fixed values: artifacts keyed on them must not change between runs or processes.
    assert string_hashes(pa.array(["", "a"])).tolist() == [3244421341483603138, 16629034431890738719]


# ------------------------------------------------------------------ shingles and signatures
def test_ngram_windows_and_order():
    token = np.array([1, 2, 3, 1, 2, 3, 9, 9], dtype=np.uint64)
    hashes, offsets = ngram_hashes(token, np.array([0, 3, 6, 6, 8]), 3)
    np.testing.assert_array_equal(offsets, [0, 1, 2, 2, 3])  # 3 tokens -> 1 window; short doc -> 1 window
    assert hashes[0] == hashes[1] and hashes[2] != hashes[0]
    reversed_hash, _ = ngram_hashes(np.array([3, 2, 1], dtype=np.uint64), np.array([0, 3]), 3)
    assert reversed_hash[0] != hashes[0]


def test_shingle_jaccard_matches_python_sets():
    base = " ".join(words(40))
    others = [" ".join(replace(base.split(), *RNG.choice(40, size=k, replace=False))) for k in (0, 1, 3, 8, 20)]
    texts = [base, *others]
    hashes, offsets = shingle_hashes(texts)
    pairs = np.array([[0, i] for i in range(1, len(texts))])
    np.testing.assert_allclose(shingle_jaccard(hashes, offsets, pairs), [jaccard(base, t) for t in others])


def test_char_shingles_count_code_points():
    hashes, offsets = shingle_hashes(["abcdé", "ab"], unit="char", ngram=3, normalizer="whitespace")
    np.testing.assert_array_equal(offsets, [0, 3, 4])


def test_signature_estimate_is_close_to_the_exact_jaccard():
    base = words(60)
    texts = [" ".join(base), " ".join(replace(base, 10, 40))]
    hashes, offsets = shingle_hashes(texts)
    exact = shingle_jaccard(hashes, offsets, np.array([[0, 1]]))[0]
    for backend in ("numpy", "rensa"):
        signatures = minhash_signatures(hashes, offsets, num_perm=512, seed=3, backend=backend)
        assert signatures.shape == (2, 512) and signatures.dtype == np.uint32
        assert abs(signature_similarity(signatures, np.array([[0, 1]]))[0] - exact) < 0.08, backend


def test_empty_documents_are_never_candidates():
    signatures = document_signatures(["", "", "one two three four five six"])
    assert (signatures[0] == 0xFFFFFFFF).all()
    assert len(candidate_pairs(signatures, 16, 8)) == 0


def test_lsh_parameters_reach_the_recall_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = lsh_parameters(128, threshold)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.99
        more = rows + 1
        assert 1 - (1 - threshold**more) ** (128 // more) < 0.99  # the largest such number of rows


def test_buckets_pair_linearly_and_components_join_them():
    signatures = np.zeros((5, 4), dtype=np.uint32)
    signatures[3] = 7  # alone
    pairs = candidate_pairs(signatures, bands=2, rows=2)
    assert {tuple(p) for p in pairs} == {(0, 1), (0, 2), (0, 4), (1, 2), (2, 4)}  # first-member and neighbour
    np.testing.assert_array_equal(components(5, pairs), [0, 0, 0, 3, 0])


# ------------------------------------------------------------------ near-duplicates end to end
def test_near_duplicate_chain_group_of_three_and_strangers():
    a = words(40)
    b = replace(a, 5)  # J(a, b) = 31/41 = 0.756
    c = replace(b, 30)  # J(b, c) = 0.756, J(a, c) = 26/46 = 0.565
    d = words(40)
    d2 = replace(d, 39)  # 35/37
    texts = [" ".join(t) for t in (a, d, b, " ".join(words(40)).split(), c, d2, d)]
    texts[6] = texts[6].upper()  # an exact copy up to case
    result = near_duplicates(texts, threshold=0.7)
    reported = {tuple(p): s for p, s in zip(result.pairs.tolist(), result.similarity)}
    assert set(reported) == {(0, 2), (2, 4), (1, 5), (1, 6), (5, 6)}  # not (0, 4): below the threshold
    for (i, j), similarity in reported.items():
        assert similarity == pytest.approx(jaccard(texts[i], texts[j]))
    np.testing.assert_array_equal(result.representative, [0, 1, 0, 3, 0, 1, 1])
    np.testing.assert_array_equal(result.is_duplicate, [0, 0, 1, 0, 1, 1, 1])


def test_verification_removes_false_candidates():
    a = words(40)
    texts = [" ".join(a), " ".join(replace(a, 5, 15, 25))]  # J = 25/55 = 0.45
    unverified = near_duplicates(texts, threshold=0.8, bands=64, verify="none")  # 2 rows per band: a candidate
    assert unverified.num_candidates == 1 and unverified.is_duplicate[1]
    verified = near_duplicates(texts, threshold=0.8, bands=64)
    assert verified.num_candidates == 1 and len(verified.pairs) == 0 and not verified.is_duplicate.any()


def test_batches_backends_and_estimates_agree_on_the_groups():
    a, d = words(50), words(50)
    texts = [" ".join(t) for t in (a, replace(a, 49), d, replace(d, 0), words(50), a)]
    expected = [0, 0, 2, 2, 4, 0]
    for kwargs in ({"batch_size": 2}, {"backend": "numpy"}, {"verify": "estimate"}, {"unit": "char", "ngram": 8}):
        np.testing.assert_array_equal(near_duplicates(texts, **kwargs).representative, expected, err_msg=str(kwargs))
