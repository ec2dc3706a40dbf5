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


@pytest.fixture(scope="module")
def cnn_speed():
    """``benchmarks/cnn_speed.py``, which imports ``train_speed`` from its own folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(SCRIPT.parent))
        spec = importlib.util.spec_from_file_location("cnn_speed", SCRIPT.parent / "cnn_speed.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("channels, size", [((16, 32), 14), ((3, 8), 9)])
def test_gemm_floor_makes_the_convolutions_products(cnn_speed, channels, size):
    """``ConvProducts`` times the products ``Conv2D`` makes, on real operands.

    On a batch whose samples are all the same image, every block's im2col
    matrix is the first block's, so the floor's products give Conv2D's own
    output and input gradient (without the bias): it computes the same
    products, of the same shapes. Its kernel gradient is dropped.
    """
    from netlib import Conv2D

    rng = np.random.default_rng(5)
    (c, o), n = channels, 37                               # a short last block
    W = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    x = np.repeat(rng.standard_normal((1, c, size, size), dtype=np.float32), n, axis=0)
    g = np.repeat(rng.standard_normal((1, o, size, size), dtype=np.float32), n, axis=0)
    real = Conv2D.from_params(W, b, padding=1)
    floor = cnn_speed.ConvProducts.from_params(W, b, padding=1)
    assert len(real._blocks(c, (size, size), n)) > 1          # several blocks, as in training
    y_real, y_floor = real.forward(x), floor.forward(x)
    np.testing.assert_allclose(y_floor + b[:, None, None], y_real, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(floor.backward(g), real.backward(g), rtol=1e-5, atol=1e-5)
    assert not floor.grads["W"].any() and real.grads["W"].any()
    # A batch of different images: the floor keeps computing on the first block's
    # matrices, so its output is no longer the convolution's (it is a floor, not a layer).
    x_other = rng.standard_normal(x.shape, dtype=np.float32)
    assert not np.allclose(floor.forward(x_other) + b[:, None, None], real.forward(x_other),
                           atol=1e-3)
