"""The record buffer: pending device tensors moved to the host in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dprune.dynamics.buffer import RecordBuffer, host_concat
from dprune.dynamics.records import batch_dynamics

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)")


def _add_batch(buffer: RecordBuffer, positions: list[int], device: str, phase: str = "train") -> None:
    index = torch.tensor(positions, device=device)
    labels = torch.tensor([p % 2 for p in positions], device=device)
    logits = torch.stack([index.float(), -index.float()], dim=1)
    buffer.add(0, len(buffer.pending), index, labels, batch_dynamics(logits, labels), phase)


def test_host_concat_keeps_order_and_flattens():
    parts = [torch.tensor([[1, 2]]), torch.tensor([3]), torch.tensor([[4], [5]])]
    np.testing.assert_array_equal(host_concat(parts), [1, 2, 3, 4, 5])


def test_flush_keeps_presentation_order_across_phases():
    buffer = RecordBuffer()
    _add_batch(buffer, [3, 1], "cpu")
    _add_batch(buffer, [0, 2], "cpu", phase="eval")
    buffer.flush(seed=7, ids=np.array([10, 11, 12, 13]))
    chunk = buffer.chunks[0]
    np.testing.assert_array_equal(chunk["position"], [3, 1, 0, 2])
    np.testing.assert_array_equal(chunk["row_id"], [13, 11, 10, 12])
    np.testing.assert_array_equal(chunk["label"], [1, 1, 0, 0])
    assert list(chunk["phase"]) == ["train", "train", "eval", "eval"]
    assert buffer.pending == []


@cuda
def test_flush_mixes_training_records_on_the_gpu_with_an_eval_pass_on_the_host():
    # Trainer fine-tuning records training batches on the GPU and its eval-mode pass from host predictions.
    chunks = []
    for train_device in ("cuda", "cpu"):
        buffer = RecordBuffer()
        _add_batch(buffer, [3, 1], train_device)
        _add_batch(buffer, [2], train_device)
        _add_batch(buffer, [0, 1, 2, 3], "cpu", phase="eval")
        buffer.flush(seed=0, ids=None)
        chunks.append(buffer.chunks[0])
    on_gpu, on_host = chunks
    np.testing.assert_array_equal(on_gpu["position"], [3, 1, 2, 0, 1, 2, 3])
    for column, values in on_host.items():
        if values.dtype.kind == "f":
            np.testing.assert_allclose(on_gpu[column], values, rtol=1e-5, atol=1e-6, err_msg=column)
        else:
            np.testing.assert_array_equal(on_gpu[column], values, err_msg=column)
