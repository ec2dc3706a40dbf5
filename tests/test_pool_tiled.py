"""Max pooling's tiled fast path, checked against its definition.

When the windows tile the input exactly (stride = kernel, sizes divisible),
``MaxPool2D.backward`` writes each input position once instead of adding.
The registry's pooling cases all overlap or leave a border, so this path is
checked here: against a loop over windows that routes ``g`` to the first
maximum (ties included, the tie rule of the definition), and by finite
differences at a point without ties.
"""

from __future__ import annotations

import numpy as np
import pytest

import netlib as nl
from netlib.gradcheck import check_layer


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
