"""The hidden-states cache stage and partial fine-tuning through the dynamics stage."""

from __future__ import annotations

import numpy as np
import pytest

from dprune.data.loading import load_dataset
from dprune.dynamics.partial import encode_lower_layers, load_encoder_parts, train_partial_finetune
from dprune.dynamics.records import Dynamics
from dprune.stages.dynamics import dynamics_stage
from dprune.stages.hidden_states import HIDDEN_STATES, hidden_states_stage, read_hidden_states
from dprune.store import ArtifactStore


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def reviews():
    return load_dataset("rotten_tomatoes", split="train").shuffle(seed=4).select(range(20))


@pytest.fixture()
def stored(tmp_path, reviews):
    store = ArtifactStore(tmp_path / "store")
    return store, store.write_table("dataset", "d" * 32, reviews, config={})


def test_states_are_stored_by_shard_and_read_back_exactly(stored, reviews):
    store, dataset_ref = stored
    computed = []
    ref = hidden_states_stage(store, dataset_ref, train_layers=2, shard_rows=8,
                              on_shard=lambda i, start, stop: computed.append(i))
    assert ref.stage == HIDDEN_STATES.name and computed == [0, 1, 2]
    tokenizer, encoder = load_encoder_parts()
    direct = encode_lower_layers(reviews["text"], tokenizer=tokenizer, encoder=encoder, train_layers=2)
    back = read_hidden_states(store, ref)
    np.testing.assert_array_equal(back.offsets, direct.offsets)
    np.testing.assert_allclose(back.values.astype(np.float32), direct.values.astype(np.float32), atol=2e-2)
    assert hidden_states_stage(store, dataset_ref, train_layers=2, shard_rows=8) == ref
    assert hidden_states_stage(store, dataset_ref, train_layers=1, shard_rows=8) != ref
    assert hidden_states_stage(store, dataset_ref, train_layers=2, storage_dtype="bfloat16", shard_rows=8) != ref
    with pytest.raises(ValueError, match="'train_layers' parameter of the hidden_states stage"):
        hidden_states_stage(store, dataset_ref, train_layers=9)


def test_a_killed_cache_resumes_at_the_first_missing_shard(stored):
    store, dataset_ref = stored
    computed = []
    assert hidden_states_stage(store, dataset_ref, train_layers=1, shard_rows=8, shards=[0]) is None
    ref = hidden_states_stage(store, dataset_ref, train_layers=1, shard_rows=8,
                              on_shard=lambda i, start, stop: computed.append(i))
    assert computed == [1, 2] and len(read_hidden_states(store, ref)) == 20


def test_partial_finetune_dynamics_stage(stored, reviews):
    store, dataset_ref = stored
    settings = {"train_layers": 1, "batch_size": 8}
    ref = dynamics_stage(store, dataset_ref, method="partial_finetune", seeds=(0, 1), epochs=2, **settings)
    manifest = store.manifest(ref)
    assert len(manifest["shards"]) == 4
    assert [p["stage"] for p in manifest["parents"]] == ["dataset", HIDDEN_STATES.name]
    dynamics = Dynamics.from_store(store, ref)
    assert dynamics.meta["source"] == "partial_finetune" and len(dynamics) == 2 * 2 * 20
    direct = train_partial_finetune(reviews, epochs=2, seeds=(0, 1), **settings)
    np.testing.assert_allclose(np.sort(dynamics.column("loss")), np.sort(direct.column("loss")), rtol=1e-3, atol=1e-3)
    assert dynamics_stage(store, dataset_ref, method="partial_finetune", seeds=(0, 1), epochs=2, **settings) == ref
    other = dynamics_stage(store, dataset_ref, method="partial_finetune", seeds=(0,), epochs=1, train_layers=1,
                           batch_size=8, learning_rate=1e-4)
    assert other != ref
