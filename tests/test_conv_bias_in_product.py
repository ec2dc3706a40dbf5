"""Conv2D's bias inside the matrix product, checked against its definition.

``Conv2D`` appends a row of ones to each block's im2col matrix so that one
product computes ``W_mat X_colᵀ + b 1ᵀ`` and, in the backward pass, the row
``1ᵀ G_mat`` (``dL/db``) beside ``dL/dW_mat``. Here: against loops over every
output entry (float32 and float64, with and without a bias, one sample per
block and all in one), by finite differences, and a bias gradient read from
the wrong row of that product is caught.
"""

from __future__ import annotations

import numpy as np
import pytest

import netlib as nl
from netlib.gradcheck import check_layer
from netlib.layers import conv


def conv_by_loops(x, W, b, stride, padding, g):
    """y, dx, dW, db by the definition, one output entry at a time (float64)."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    W, g = W.astype(np.float64), g.astype(np.float64)
    n, _, hp, wp = xp.shape
    o, _, kh, kw = W.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y, dxp, dW = np.zeros((n, o, oh, ow)), np.zeros_like(xp), np.zeros_like(W)
    for a, k, i, j in np.ndindex(n, o, oh, ow):
        window = (a, slice(None), slice(sh * i, sh * i + kh), slice(sw * j, sw * j + kw))
        y[a, k, i, j] = (0.0 if b is None else b[k]) + np.sum(W[k] * xp[window])
        dxp[window] += g[a, k, i, j] * W[k]
        dW[k] += g[a, k, i, j] * xp[window]
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return y, dx, dW, g.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("block_bytes", [1, 10**9])             # one sample per block, all
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("stride, padding", [((1, 1), (1, 1)), ((2, 1), (1, 0))])
def test_bias_in_the_product_gives_the_loop_result(monkeypatch, block_bytes, bias, dtype,
                                                   tolerance, stride, padding):
    monkeypatch.setattr(conv, "SAMPLE_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 5, 6)).astype(dtype)
    W = rng.standard_normal((4, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    layer = nl.Conv2D.from_params(W, b, stride=stride, padding=padding)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(g)
    y_ref, dx_ref, dW_ref, db_ref = conv_by_loops(x, W, b, stride, padding, g)
    assert y.dtype == dx.dtype == layer.grads["W"].dtype == dtype
    computed = {"y": y, "dx": dx, "dW": layer.grads["W"]}
    expected = {"y": y_ref, "dx": dx_ref, "dW": dW_ref}
    if bias:
        computed["db"], expected["db"] = layer.grads["b"], db_ref
    for name, value in computed.items():
        scale = np.abs(expected[name]).max()
        error = np.abs(value - expected[name]).max() / scale
        assert error < tolerance, (f"{name}: relative error {error:.2e}\n"
                                   f"netlib:\n{value}\nloops:\n{expected[name]}")


def test_bias_in_the_product_passes_finite_differences_and_a_wrong_row_fails():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 4, 5))
    W, b = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    assert check_layer(nl.Conv2D.from_params(W, b, padding=1), x).passed

    class BiasFromTheLastKernelRow(nl.Conv2D):
        def _backward(self, g):
            dx = super()._backward(g)
            # dL/db read one row too early in [dL/dW_mat; dL/db]ᵀ: an off-by-one.
            self.grads["b"][...] = self.grads["W"].reshape(self.out_channels, -1)[:, -1]
            return dx

    assert not check_layer(BiasFromTheLastKernelRow.from_params(W, b, padding=1), x).passed
