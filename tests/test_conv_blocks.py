"""Conv2D's blocks of samples, checked against the definition.

``Conv2D`` builds and multiplies the im2col matrices of a few samples at a
time (a speed measure, ``SAMPLE_BLOCK_BYTES``) and adds each block's share
of ``dL/dW`` to one accumulator. The result must not depend on the blocks:
checked against loops over every output entry (float32 and float64, with and
without a bias, stride 1 and 2, one sample per block and all in one), by
finite differences, and a kernel gradient that keeps only the last block's
share is caught.
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
def test_blocks_of_samples_give_the_loop_result(monkeypatch, block_bytes, bias, dtype,
                                                   tolerance, stride, padding):
    monkeypatch.setattr(conv, "SAMPLE_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 5, 6)).astype(dtype)
    W = rng.standard_normal((4, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    layer = nl.Conv2D.from_params(W, b, stride=stride, padding=padding)
    y = layer.forward(x)
    assert len(layer._blocks(2, y.shape[2:], 3)) == {1: 3, 10**9: 1}[block_bytes]
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


def test_blocks_pass_finite_differences_and_a_lost_block_fails(monkeypatch):
    monkeypatch.setattr(conv, "SAMPLE_BLOCK_BYTES", 1)              # one sample per block
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 4, 5))
    W, b = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    assert check_layer(nl.Conv2D.from_params(W, b, padding=1), x).passed

    real_vjp = conv.conv2d_vjp

    def last_block_only(g, x_pad, W, stride, dW_t, dx_pad):
        dW_t[...] = 0                           # "=" where the blocks' shares must add up
        real_vjp(g, x_pad, W, stride, dW_t, dx_pad)

    monkeypatch.setattr(conv, "conv2d_vjp", last_block_only)
    assert not check_layer(nl.Conv2D.from_params(W, b, padding=1), x).passed
