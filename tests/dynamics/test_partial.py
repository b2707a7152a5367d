"""Partial fine-tuning from cached hidden states: exactness of the cache, records, and quality against the probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from sklearn.metrics import roc_auc_score

from dprune.dynamics.partial import (
    HiddenStates,
    build_top_classifier,
    encode_lower_layers,
    length_batches,
    load_encoder_parts,
    train_partial_finetune,
)

TEXTS = ["a great film , truly moving .", "boring", "the plot is thin but the acting carries it along nicely enough",
         "not my cup of tea", "one of the best of the year", "dull and far too long ."]


@pytest.fixture(scope="module")
def parts():
    return load_encoder_parts()


@pytest.mark.parametrize("storage_dtype,atol", [("float32", 1e-5), ("float16", 2e-2), ("bfloat16", 1e-1)])
def test_cached_states_plus_top_layers_equal_the_full_encoder(parts, storage_dtype, atol):
    tokenizer, encoder = parts
    states = encode_lower_layers(TEXTS, tokenizer=tokenizer, encoder=encoder, train_layers=2, batch_size=4,
                                 storage_dtype=storage_dtype, autocast=False, device="cpu")
    assert states.lengths.tolist() == [len(t) for t in tokenizer(TEXTS)["input_ids"]]
    top = build_top_classifier(encoder, 2, num_labels=2).eval()
    x, mask = states.batch(np.arange(len(TEXTS)), "cpu")
    with torch.no_grad():
        for layer in top.layers:
            x = layer(x, attention_mask=mask[:, None, None, :])
            x = x[0] if isinstance(x, tuple) else x
        reference = encoder(**tokenizer(TEXTS, padding=True, return_tensors="pt")).last_hidden_state
    for i, length in enumerate(states.lengths):
        np.testing.assert_allclose(x[i, :length].numpy(), reference[i, :length].numpy(), atol=atol)


def test_length_batches_cover_every_row_once_with_little_padding():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    order = np.random.default_rng(1).permutation(1000)
    batches = list(length_batches(lengths, 32, order=order))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert padded < 1.1 * lengths.sum()


def test_records_every_presentation_with_ids_and_labels(parts):
    ds = Dataset.from_dict({"row_id": [10 * i for i in range(len(TEXTS))], "text": TEXTS,
                            "label": ["pos", "neg", "pos", "neg", "pos", "neg"]})
    dynamics = train_partial_finetune(ds, train_layers=1, epochs=2, batch_size=4, seeds=(0, 1), threads=1)
    assert len(dynamics) == 2 * 2 * len(TEXTS) and dynamics.seeds == [0, 1] and dynamics.epochs == [0, 1]
    assert dynamics.meta["source"] == "partial_finetune" and dynamics.id_column == "row_id"
    assert sorted(dynamics.example_ids().tolist()) == ds["row_id"]
    again = train_partial_finetune(ds, train_layers=1, epochs=2, batch_size=4, seeds=(0, 1), threads=1)
    np.testing.assert_allclose(again.column("loss"), dynamics.column("loss"), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="'train_layers' parameter"):
        train_partial_finetune(ds, train_layers=7, epochs=1)
    with pytest.raises(ValueError, match="states hold 2 rows"):
        train_partial_finetune(ds, states=HiddenStates(np.zeros((3, 384), np.float16), np.array([0, 1, 3]),
                                                       "float16"))


@pytest.mark.slow
def test_partial_finetuning_beats_the_probe_on_flipped_labels(parts):
    """On 800 bundled rows with 10% flipped, partial fine-tuning ranks the flipped rows better than the
    linear probe on the same rows and seeds (margin measured in benchmarks/dynamics_quality.py)."""
    from dprune.data import load_dataset
    from dprune.dynamics.probe import train_linear_probe
    from dprune.evaluation.noise import flip_labels
    from dprune.text.embedding import embed_texts

    full = load_dataset("rotten_tomatoes", split="train")
    rows = np.sort(np.random.default_rng(0).choice(len(full), 800, replace=False))
    noisy, flipped = flip_labels(full.select(rows), 0.1, seed=0)
    seeds = (0, 1)
    partial = train_partial_finetune(noisy, train_layers=2, epochs=3, seeds=seeds, max_length=128)  # as measured
    probe = train_linear_probe(noisy, embed_texts(noisy["text"]), seeds=seeds)

    def best(dynamics):
        index = dynamics.align(noisy)
        return max(roc_auc_score(flipped, -dynamics.mean(field)[index]) for field in ("margin", "prob"))

    print(f"AUROC partial {best(partial):.3f}, probe {best(probe):.3f}")
    assert best(partial) >= best(probe) + MARGIN


#: Required advantage of partial fine-tuning over the probe. Measured: +0.023 on these 800 rows (0.835 vs
#: 0.812), +0.014 to +0.045 on other samples and settings (README, "Cheaper routes to fine-tuning quality").
MARGIN = 0.01


@pytest.mark.parametrize("storage_dtype", ["float16", "bfloat16", "float32"])
def test_states_round_trip_through_arrow_shards(storage_dtype):
    import pyarrow as pa

    from dprune.dynamics.partial import states_from_table, states_to_table

    rng = np.random.default_rng(0)
    lengths = np.array([3, 1, 5, 2])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    raw = rng.normal(size=(offsets[-1], 4)).astype(np.float32)
    values = raw.astype(np.float16) if storage_dtype == "float16" else raw
    if storage_dtype == "bfloat16":
        values = torch.from_numpy(raw).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    states = HiddenStates(values=values, offsets=offsets, dtype=storage_dtype)
    first = HiddenStates(values=values[:4], offsets=offsets[:3], dtype=storage_dtype)
    second = HiddenStates(values=values[4:], offsets=offsets[2:] - 4, dtype=storage_dtype)
    table = pa.concat_tables([states_to_table(first), states_to_table(second)])
    back = states_from_table(table, dtype=storage_dtype, hidden_size=4)
    np.testing.assert_array_equal(back.offsets, offsets)
    np.testing.assert_array_equal(back.values, values)
    whole = states_from_table(states_to_table(states), dtype=storage_dtype, hidden_size=4)
    np.testing.assert_array_equal(whole.values, back.values)
    x, mask = back.batch(np.array([2, 1]), "cpu")
    assert x.shape == (2, 5, 4) and mask.sum().item() == 6
    np.testing.assert_allclose(x[1, 0].numpy(), raw[3], atol=1e-2 if storage_dtype == "bfloat16" else 1e-3)


def test_evaluate_states_scores_every_row_once_in_eval_mode(parts):
    from dprune.dynamics.partial import evaluate_states

    tokenizer, encoder = parts
    states = encode_lower_layers(TEXTS, tokenizer=tokenizer, encoder=encoder, train_layers=1, batch_size=4,
                                 storage_dtype="float32", autocast=False, device="cpu")
    labels = np.array([1, 0, 1, 0, 1, 0])
    torch.manual_seed(0)
    model = build_top_classifier(encoder, 1, num_labels=2).train()
    columns = evaluate_states(model, states, labels, step=7, batch_size=4, device="cpu", autocast=False)
    assert model.training and sorted(columns["position"].tolist()) == list(range(len(TEXTS)))
    assert set(columns["step"].tolist()) == {7}
    model.eval()
    with torch.no_grad():
        for position, margin in zip(columns["position"], columns["margin"]):
            x, mask = states.batch(np.array([position]), "cpu")
            logits = model(x, mask)[0]
            gold, other = logits[labels[position]], logits[1 - labels[position]]
            np.testing.assert_allclose(margin, (gold - other).item(), atol=1e-4)
