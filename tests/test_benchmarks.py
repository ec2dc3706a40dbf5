"""The training-speed benchmark compares like with like (no timing is asserted).

``benchmarks/train_speed.py`` is a script, not a test; what can be tested is
that its contenders train the same network on the same batches: their mean
losses over an epoch must agree, and taking turns by chunks must run every
batch exactly once.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"


@pytest.fixture(scope="module")
def train_speed():
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contenders_agree_on_the_epoch_loss(train_speed, dtype):
    rng = np.random.default_rng(3)
    x = rng.random((700, train_speed.SIZES[0])).astype(dtype)
    y = rng.integers(0, train_speed.SIZES[-1], 700)
    order = rng.permutation(700)
    batches = [order[start:start + 64] for start in range(0, 700, 64)]   # last one 60
    chunks = [batches[start:start + 3] for start in range(0, len(batches), 3)]
    weights = train_speed.initial_weights(rng, dtype)
    contenders = {"netlib": train_speed.netlib_epoch, "numpy": train_speed.numpy_epoch,
                  "gemm": train_speed.gemm_epoch}
    result = train_speed.interleaved_epoch(contenders, weights, x, y, chunks, 0.05)
    netlib_loss, numpy_loss = result["netlib"][2], result["numpy"][2]
    # Same mathematics, different rounding: float32 agrees to about 1e-6.
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert netlib_loss == pytest.approx(numpy_loss, rel=tolerance)
    assert np.isnan(result["gemm"][2])
    # Taking turns changes nothing: one chunk per contender gives the same loss.
    whole = train_speed.interleaved_epoch({"netlib": train_speed.netlib_epoch}, weights,
                                          x, y, [batches], 0.05)
    assert whole["netlib"][2] == netlib_loss
    # The tolerance is tight enough to notice a contender that skipped a batch.
    skipped = train_speed.interleaved_epoch({"numpy": train_speed.numpy_epoch}, weights,
                                            x, y, [batches[:5] + batches[6:]], 0.05)
    assert skipped["numpy"][2] != pytest.approx(numpy_loss, rel=tolerance)
