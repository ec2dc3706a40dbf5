"""Max pooling's tiled fast path, checked against its definition.

When the windows tile the input exactly (stride = kernel, sizes divisible),
``MaxPool2D.backward`` writes each input position once instead of adding.
The registry's pooling cases all overlap or leave a border, so this path is
checked here: against a loop over windows that routes ``g`` to the first
maximum (ties included, the tie rule of the definition), and by finite
differences at a point without ties. Both max-pooling passes also run over
blocks of samples (a speed measure); the result must not depend on the
blocks, which is checked with one sample per block, two, and all.
"""

from __future__ import annotations

import numpy as np
import pytest

import netlib as nl
from netlib.gradcheck import check_layer
from netlib.layers import pooling


def routed_by_loop(x, g, kernel):
    """dL/dx by the definition: each window's g goes to its first maximal entry."""
    kh, kw = kernel
    dx = np.zeros_like(x)
    n, c, oh, ow = g.shape
    for index in np.ndindex(n, c, oh, ow):
        b, ch, i, j = index
        window = x[b, ch, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw]
        u, v = np.unravel_index(np.argmax(window), window.shape)   # first maximum
        dx[b, ch, i * kh + u, j * kw + v] += g[index]
    return dx


@pytest.mark.parametrize("kernel", [(2, 2), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiled_backward_routes_to_the_first_maximum(kernel, dtype):
    rng = np.random.default_rng(3)
    # Few distinct values: many ties inside windows.
    x = rng.integers(0, 3, size=(2, 3, 4, 6)).astype(dtype)
    layer = nl.MaxPool2D(kernel)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(g)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, routed_by_loop(x, g, kernel))


def test_tiled_backward_passes_finite_differences_and_a_wrong_one_fails():
    rng = np.random.default_rng(4)
    x = rng.permutation(2 * 2 * 4 * 6).reshape(2, 2, 4, 6).astype(np.float64) / 10
    assert check_layer(nl.MaxPool2D(2), x).passed

    class RoutedToLast(nl.MaxPool2D):
        def _backward(self, g):
            return super()._backward(g)[..., ::-1]      # gradient in the mirrored place

    assert not check_layer(RoutedToLast(2), x).passed


# -- blocks of samples (a speed measure: the result must not depend on them) ----------

def pooled_by_loop(x, kernel, stride):
    """y by the definition, window by window."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        y[b, ch, i, j] = x[b, ch, i * sh:i * sh + kh, j * sw:j * sw + kw].max()
    return y


def routed_by_loop_strided(x, g, kernel, stride):
    """dL/dx by the definition for any stride: overlapping windows add up."""
    (kh, kw), (sh, sw) = kernel, stride
    dx = np.zeros_like(x)
    for index in np.ndindex(*g.shape):
        b, ch, i, j = index
        window = x[b, ch, i * sh:i * sh + kh, j * sw:j * sw + kw]
        u, v = np.unravel_index(np.argmax(window), window.shape)   # first maximum
        dx[b, ch, i * sh + u, j * sw + v] += g[index]
    return dx


@pytest.mark.parametrize("block_bytes", [1, 400, 10**9])        # 1 sample, 2, all
@pytest.mark.parametrize("kernel, stride", [((2, 2), (2, 2)), ((2, 3), (1, 2))])
def test_blocks_of_samples_give_the_loop_result(monkeypatch, block_bytes, kernel, stride):
    monkeypatch.setattr(pooling, "POOL_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=(5, 2, 4, 6)).astype(np.float32)   # ties everywhere
    layer = nl.MaxPool2D(kernel, stride)
    y = layer.forward(x)
    assert len(layer._blocks(x)) == {1: 5, 400: 3, 10**9: 1}[block_bytes]
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(y, pooled_by_loop(x, kernel, stride))
    np.testing.assert_array_equal(layer.backward(g), routed_by_loop_strided(x, g, kernel, stride))


def test_blocks_pass_finite_differences_and_a_misrouted_block_fails(monkeypatch):
    monkeypatch.setattr(pooling, "POOL_BLOCK_BYTES", 1)            # one sample per block
    rng = np.random.default_rng(6)
    x = rng.permutation(3 * 2 * 4 * 4).reshape(3, 2, 4, 4).astype(np.float64) / 10
    assert check_layer(nl.MaxPool2D(2), x).passed

    class SelectionOfTheNextSample(nl.MaxPool2D):
        def _route(self, g, selected, dx, tiled):
            # Each block routed with another block's selections: a wrong index.
            super()._route(g, np.roll(self._selected, 1, axis=0)[:len(g)], dx, tiled)

    assert not check_layer(SelectionOfTheNextSample(2), x).passed
