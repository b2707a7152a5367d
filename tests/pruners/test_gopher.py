"""GopherPruner: the paper's rules, and the rule that dropped each row."""

from __future__ import annotations

from datasets import Dataset

from dprune import GopherPruner

GOOD = (
    "The river runs through the old town and the people of the valley have lived with it for centuries. "
    "In spring the water rises to the edge of the market square, and the traders move their stalls to the "
    "higher streets near the church. Children watch the boats from the bridge while their parents talk about "
    "the harvest, the weather and the price of bread. Nobody remembers a year without the flood."
)


def test_good_text_kept_and_each_failure_explained():
    texts = [
        GOOD,
        "too short to be a document",
        " ".join(["#tag"] * 60),  # hashes and no stop word
        "\n".join(["• item of a list that is long enough to count as text"] * 10),
        GOOD + "\n" + GOOD,  # repeated lines
    ]
    pruner = GopherPruner()
    kept = pruner.prune(Dataset.from_dict({"text": texts}))
    assert kept["text"] == [GOOD]
    assert pruner.dropped_by_.tolist() == [
        "", "word_count", "hash_to_word_ratio", "bullet_line_share", "duplicate_line_share"
    ]
    assert pruner.failed_["word_count"] == 1
    assert pruner.failed_["stop_word_count"] == 1  # the hashtags ("to be" has two stop words)


def test_custom_rules_replace_the_paper_rules():
    pruner = GopherPruner(rules={"word_count": (None, 10)}, batch_size=2)
    kept = pruner.prune(Dataset.from_dict({"text": [GOOD, "a few words", "", "x " * 11]}))
    assert kept["text"] == ["a few words", ""]
    assert pruner.dropped_by_.tolist() == ["word_count", "", "", "word_count"]



def test_drop_rules_name_every_broken_rule():
    texts = [GOOD, "too short to be a document", " ".join(["#tag"] * 60)]
    rules = GopherPruner().drop_rules(Dataset.from_dict({"text": texts}))
    assert rules[0] is None
    assert rules[1] == "word_count < 50"
    assert rules[2].startswith("hash_to_word_ratio > 0.1; stop_word_count < 2; top_2gram_chars > 0.2")  # paper order
