"""ForgettingCallback with a real transformers.Trainer (dprune.dynamics.callback).

The main run fine-tunes the bundled all-MiniLM-L6-v2 on 24 shuffled examples with
gradient accumulation and a dataloader worker; variants use a two-layer random BERT
(same tokenizer) to stay fast.
"""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pytest
import torch
from datasets import Value
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from dprune.dynamics.callback import CHECKPOINT_RECORDS, INDEX_COLUMN, ForgettingCallback
from dprune.data.loading import load_dataset
from dprune.models import resolve_model_name
from dprune.scorers.dynamics import AUMScorer, ForgettingScorer

N, BATCH, ACCUM, EPOCHS = 24, 4, 2, 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_model_name("all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def raw():
    """24 bundled reviews in shuffled order: row_id, text, label (ClassLabel)."""
    return load_dataset("rotten_tomatoes", split="train").shuffle(seed=1).select(range(N))


@pytest.fixture(scope="module")
def encoded(raw, tokenizer):
    """Tokenized, keeping row_id, text and label (text must be dropped by remove_unused_columns)."""
    return raw.map(lambda b: tokenizer(b["text"], truncation=True, max_length=32), batched=True)


def tiny_bert(tokenizer, seed=0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=2)
    return BertForSequenceClassification(config)


def make_trainer(model, dataset, tokenizer, tmp_path, callbacks=(), **overrides):
    settings = dict(output_dir=str(tmp_path), num_train_epochs=EPOCHS, per_device_train_batch_size=BATCH,
                    gradient_accumulation_steps=ACCUM, learning_rate=5e-4, seed=3, report_to=[], save_strategy="no",
                    logging_strategy="no", disable_tqdm=True, use_cpu=True)
    settings.update(overrides)
    return Trainer(model=model, args=TrainingArguments(**settings), train_dataset=dataset,
                   data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                   callbacks=list(callbacks))


def count_forwards(model):
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append(1))
    return calls


def check_every_example_once_per_epoch(dynamics, raw, epochs=EPOCHS):
    table = dynamics.table.to_pandas()
    assert sorted(table.epoch.unique()) == list(range(epochs))
    row_ids = np.asarray(raw["row_id"])
    labels = np.asarray(raw["label"])
    for _, epoch in table.groupby("epoch"):
        assert sorted(epoch.position) == list(range(len(raw)))
    # identity: the recorded id and gold label are those of the recorded position
    assert (row_ids[table.position] == table.row_id).all()
    assert (labels[table.position] == table.label).all()
    return table


# ---------------------------------------------------------------- the main MiniLM run
@pytest.fixture(scope="module")
def minilm_run(encoded, tokenizer, raw, tmp_path_factory):
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(resolve_model_name("all-MiniLM-L6-v2"), num_labels=2)
    calls = count_forwards(model)
    callback = ForgettingCallback()
    trainer = make_trainer(model, encoded, tokenizer, tmp_path_factory.mktemp("minilm"), callbacks=[callback],
                           dataloader_num_workers=1, learning_rate=5e-5)
    callback.trainer = trainer  # the original dPrune usage
    trainer.train()
    return callback, trainer, calls


def test_records_every_example_each_epoch_with_its_identity(minilm_run, raw):
    callback, trainer, _ = minilm_run
    table = check_every_example_once_per_epoch(callback.dynamics, raw)
    assert len(table) == N * EPOCHS
    assert (table.seed == 3).all()
    # gradient accumulation: one optimizer step covers BATCH * ACCUM presentations
    assert table.groupby("step").size().max() == BATCH * ACCUM
    assert table.step.max() == trainer.state.global_step - 1
    # the order is the shuffled training order, not the dataset order
    first_epoch = table[table.epoch == 0].position.tolist()
    assert first_epoch != sorted(first_epoch)
    assert np.isfinite(table[["prob", "margin", "loss", "el2n"]].to_numpy()).all()


def test_no_extra_forward_pass(minilm_run):
    _, _, calls = minilm_run
    assert len(calls) == EPOCHS * (N // BATCH)  # exactly the training micro-batches


def test_trainer_is_left_as_found(minilm_run, encoded):
    _, trainer, _ = minilm_run
    assert trainer.train_dataset is encoded
    assert INDEX_COLUMN not in (trainer._signature_columns or [])
    assert INDEX_COLUMN not in encoded.column_names


def test_original_usage_scores_and_prunes(minilm_run, raw):
    from dprune.core.pipeline import PruningPipeline
    from dprune.pruners import TopKPruner

    callback, _, _ = minilm_run
    scorer = ForgettingScorer(callback)
    scored = scorer.score(raw)
    expected = callback.dynamics.forgetting_events()[callback.dynamics.align(raw)]
    np.testing.assert_allclose(scored["score"], expected)
    pruned = PruningPipeline(scorer=scorer, pruner=TopKPruner(k=0.5)).run(raw)
    assert len(pruned) == N // 2
    # the original list API, by training-set position
    by_position = callback.calculate_forgetting_scores()
    assert len(by_position) == N
    assert set(callback.learning_events) == set(range(N))
    assert all(len(v) == EPOCHS for v in callback.learning_events.values())


def test_scorer_rejects_a_different_dataset(minilm_run, raw):
    callback, _, _ = minilm_run
    other = load_dataset("rotten_tomatoes", split="train").shuffle(seed=2).select(range(N))
    with pytest.raises(ValueError, match="no training record"):
        ForgettingScorer(callback).score(other)
    flipped = raw.map(lambda r: {"label": 1 - r["label"]})
    with pytest.raises(ValueError, match="label different"):
        AUMScorer(callback).score(flipped)


def test_pickle_and_clone_keep_the_records_not_the_trainer(minilm_run, raw):
    callback, _, _ = minilm_run
    restored = pickle.loads(pickle.dumps(callback))
    assert restored.trainer is None
    assert restored.dynamics.dprune_identity() == callback.dynamics.dprune_identity()
    scorer = ForgettingScorer(callback)
    clone = scorer.clone()
    assert clone.forgetting_callback.trainer is None
    np.testing.assert_allclose(clone.score(raw)["score"], scorer.score(raw)["score"])
    assert copy.deepcopy(callback).dynamics.table.equals(callback.dynamics.table)


# ---------------------------------------------------------------- variants (tiny model)
def test_without_remove_unused_columns_and_without_ids(encoded, tokenizer, raw, tmp_path):
    data = encoded.remove_columns(["text", "row_id"])
    callback = ForgettingCallback()
    trainer = make_trainer(tiny_bert(tokenizer), data, tokenizer, tmp_path, callbacks=[callback],
                           remove_unused_columns=False, gradient_accumulation_steps=1)
    callback.trainer = trainer
    trainer.train()
    dynamics = callback.dynamics
    assert dynamics.id_column is None
    table = dynamics.table.to_pandas()
    assert (table.row_id == table.position).all()
    for _, epoch in table.groupby("epoch"):
        assert sorted(epoch.position) == list(range(N))
    # positional dynamics score a dataset of the same length by position
    assert len(ForgettingScorer(callback).score(raw.remove_columns("row_id"))) == N


def test_attach_adds_the_callback_and_a_torch_dataset_works(encoded, tokenizer, tmp_path):
    class Plain(torch.utils.data.Dataset):
        def __init__(self, ds):
            self.items = [{k: ds[i][k] for k in ("input_ids", "attention_mask", "label")} for i in range(len(ds))]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    trainer = make_trainer(tiny_bert(tokenizer), Plain(encoded), tokenizer, tmp_path, num_train_epochs=1)
    callback = ForgettingCallback().attach(trainer)
    assert callback in trainer.callback_handler.callbacks
    trainer.train()
    assert sorted(callback.dynamics.table["position"].to_pylist()) == list(range(N))


def test_predict_mode_runs_the_original_prediction_pass(encoded, tokenizer, raw, tmp_path):
    model = tiny_bert(tokenizer)
    calls = count_forwards(model)
    callback = ForgettingCallback(mode="predict")
    trainer = make_trainer(model, encoded, tokenizer, tmp_path, callbacks=[callback], gradient_accumulation_steps=1,
                           per_device_eval_batch_size=8)
    callback.trainer = trainer
    trainer.train()
    table = check_every_example_once_per_epoch(callback.dynamics, raw)
    assert len(calls) == EPOCHS * (N // BATCH) + EPOCHS * (N // 8)  # training + one pass per epoch
    assert (table.groupby("epoch").position.apply(list).map(lambda p: p == list(range(N)))).all()
    assert callback.dynamics.meta["mode"] == "predict"


def test_second_train_call_starts_fresh_records(encoded, tokenizer, tmp_path):
    callback = ForgettingCallback()
    trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, tmp_path, callbacks=[callback], num_train_epochs=1)
    callback.trainer = trainer
    trainer.train()
    trainer.train()
    assert len(callback.dynamics) == N


class Crash(TrainerCallback):
    def __init__(self, at_step):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt("simulated kill")


def test_resume_from_checkpoint_gives_consistent_dynamics(encoded, tokenizer, raw, tmp_path):
    settings = dict(save_strategy="steps", save_steps=2, gradient_accumulation_steps=1, num_train_epochs=3)
    steps_per_epoch = N // BATCH  # 6

    def run(output_dir, crash_at=None, resume=False):
        sunk = []
        callback = ForgettingCallback(epoch_sink=lambda epoch, table: sunk.append((epoch, table.num_rows)))
        extra = [Crash(crash_at)] if crash_at else []
        trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, output_dir, callbacks=[callback, *extra],
                               **settings)
        callback.trainer = trainer
        trainer.train(resume_from_checkpoint=resume or None)
        return callback, sunk

    reference, reference_sunk = run(tmp_path / "clean")
    assert reference_sunk == [(0, N), (1, N), (2, N)]

    crashed_dir = tmp_path / "crashed"
    with pytest.raises(KeyboardInterrupt):
        run(crashed_dir, crash_at=steps_per_epoch + 3)  # killed mid-epoch 1, after checkpoint-8
    assert os.path.isfile(crashed_dir / "checkpoint-8" / CHECKPOINT_RECORDS)
    resumed, resumed_sunk = run(crashed_dir, resume=True)
    assert resumed_sunk == [(1, N), (2, N)]  # epoch 0 was complete in the checkpoint

    a = reference.dynamics.table.sort_by([("epoch", "ascending"), ("step", "ascending"), ("position", "ascending")])
    b = resumed.dynamics.table.sort_by([("epoch", "ascending"), ("step", "ascending"), ("position", "ascending")])
    for column in ("epoch", "step", "position", "row_id", "label", "pred", "correct"):
        assert a[column].to_pylist() == b[column].to_pylist(), column
    for column in ("prob", "margin", "loss", "el2n"):
        np.testing.assert_allclose(a[column].to_numpy(), b[column].to_numpy(), rtol=1e-4, atol=1e-5)
    check_every_example_once_per_epoch(resumed.dynamics, raw, epochs=3)


def test_resume_from_a_checkpoint_without_records_is_an_error(encoded, tokenizer, tmp_path):
    trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, tmp_path, save_strategy="epoch",
                           num_train_epochs=1, gradient_accumulation_steps=1)
    trainer.train()
    callback = ForgettingCallback()
    trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, tmp_path, callbacks=[callback],
                           save_strategy="epoch", num_train_epochs=2, gradient_accumulation_steps=1)
    callback.trainer = trainer
    with pytest.raises(RuntimeError, match="written without ForgettingCallback"):
        trainer.train(resume_from_checkpoint=True)


# ---------------------------------------------------------------- misuse
def test_unattached_callback_fails_before_training(encoded, tokenizer, tmp_path):
    callback = ForgettingCallback()
    trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, tmp_path, callbacks=[callback])
    with pytest.raises(RuntimeError, match="callback.trainer = trainer"):
        trainer.train()


def test_callback_that_never_ran_is_a_clear_error(raw):
    callback = ForgettingCallback()
    with pytest.raises(RuntimeError, match="recorded nothing"):
        callback.dynamics
    with pytest.raises(RuntimeError, match="recorded nothing"):
        ForgettingScorer(callback).score(raw)
    assert callback.dprune_identity() == {"forgetting_callback": "no records", "mode": "forward"}


def test_bad_mode_and_second_callback(encoded, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="'mode' parameter of ForgettingCallback"):
        ForgettingCallback(mode="epoch")
    trainer = make_trainer(tiny_bert(tokenizer), encoded, tokenizer, tmp_path)
    ForgettingCallback().attach(trainer)
    with pytest.raises(ValueError, match="already has another ForgettingCallback"):
        ForgettingCallback().attach(trainer)


def test_missing_labels_are_a_clear_error(encoded, tokenizer, tmp_path):
    callback = ForgettingCallback()
    trainer = make_trainer(tiny_bert(tokenizer), encoded.remove_columns("label"), tokenizer, tmp_path,
                           callbacks=[callback])
    callback.trainer = trainer
    with pytest.raises(ValueError, match="gold labels"):
        trainer.train()


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda ds: ds.cast_column("label", Value("int64")).map(
            lambda r, i: {"label": 5 if i == 2 else r["label"]}, with_indices=True), r"0\.\.1"),
        (lambda ds: ds.cast_column("label", Value("string")), "holds strings"),
    ],
    ids=["out-of-range", "strings"],
)
def test_unusable_training_labels_fail_before_training(encoded, tokenizer, tmp_path, change, match):
    callback = ForgettingCallback()
    model = tiny_bert(tokenizer)
    calls = count_forwards(model)
    trainer = make_trainer(model, change(encoded), tokenizer, tmp_path, callbacks=[callback])
    callback.trainer = trainer
    with pytest.raises(ValueError, match=match):
        trainer.train()
    assert not calls
