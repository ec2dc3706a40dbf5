r"""2-D max and average pooling on NCHW batches (no padding).

Both slide a ``(kh, kw)`` window with stride ``(s_h, s_w)`` (default: the
window size, i.e. non-overlapping) over each channel of each sample.

**Average pooling** is linear: :math:`y_{n,c,i,j} = \frac{1}{kh\,kw}\sum_{u,v}
x_{n,c,s_h i+u,s_w j+v}`. Its Jacobian has :math:`1/(kh\,kw)` wherever an
input lies in an output's window, so the VJP spreads each :math:`g_{n,c,i,j}`
evenly over its window (col2im of :math:`g/(kh\,kw)`; overlapping windows add).

**Max pooling** picks one entry per window, so each row of its Jacobian has a
single 1, at the selected entry: the VJP routes :math:`g_{n,c,i,j}` to that
entry only. **Ties:** when several entries of a window share the maximum, the
*first* in row-major window order (smallest ``u``, then smallest ``v``) is
selected - that is what ``argmax`` returns - and only it receives the
gradient. (Routing the gradient to every tied entry would multiply it; the
function is not differentiable there, and any single choice is a valid
subgradient.) With overlapping windows one input may be selected by several
windows and then receives the sum of their gradients.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import check_ndim
from netlib.layers.base import Layer
from netlib.layers.conv import output_size, pair, sample_blocks, window_offset

__all__ = ["MaxPool2D", "AvgPool2D"]

#: Speed only: target size of a block of max pooling's input, in bytes.
POOL_BLOCK_BYTES = 1024 * 1024


class _Pool2D(Layer):
    """Window bookkeeping and input checks shared by the two poolings.

    Both work offset by offset: for each of the ``kh*kw`` kernel offsets
    ``(u, v)``, :func:`~netlib.layers.conv.window_offset` is a strided view
    of that entry of every window, so a pass over all offsets touches each
    window entry once without copying the windows out (a Python loop over
    the few kernel offsets, never over samples or pixels).
    """

    def __init__(self, kernel_size, stride=None) -> None:
        super().__init__()
        who = type(self).__name__
        self.kernel_size = pair(who, "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair(who, "stride", stride, 1)
        kh, kw = self.kernel_size
        self._offsets = [(u, v) for u in range(kh) for v in range(kw)]   # row-major

    def describe(self):
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"

    def _check(self, x):
        who = self.describe()
        check_ndim(who, "x", x, 4, "(batch, channels, height, width)")
        kh, kw = self.kernel_size
        if x.shape[2] < kh or x.shape[3] < kw:
            raise ValueError(f"{who}: expected height and width at least the kernel size "
                             f"{self.kernel_size}, got x of shape {x.shape}")
        self._x_shape = x.shape
        self._out_hw = (output_size(x.shape[2], kh, self.stride[0]),
                        output_size(x.shape[3], kw, self.stride[1]))

    def _entry(self, x, offset):
        return window_offset(x, *offset, self._out_hw, self.stride)


class MaxPool2D(_Pool2D):
    r"""Max pooling: :math:`y_{n,c,i,j} = \max_{u,v} x_{n,c,s_h i+u,s_w j+v}`.

    VJP: each :math:`g_{n,c,i,j}` goes to the selected entry of its window;
    ties go to the first maximal entry in row-major window order (see the
    module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool2D(2)
    >>> x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])       # a tie between two 3s
    >>> pool.forward(x).ravel()
    array([3.])
    >>> pool.backward(np.ones((1, 1, 1, 1)))[0, 0]       # only the first 3 gets it
    array([[0., 1.],
           [0., 0.]])
    """

    name = "max_pool2d"

    def _forward(self, x):
        self._check(x)
        y = np.empty((*x.shape[:2], *self._out_hw), dtype=x.dtype)
        selected = np.empty(y.shape, dtype=np.int8)           # offset index of the max
        for block in self._blocks(x):                          # speed: see _blocks
            self._max_and_offset(x[block], y[block], selected[block])
        self._selected = selected
        return y

    def _max_and_offset(self, x, best, selected):
        """Fill ``best`` with each window's maximum and ``selected`` with its offset index."""
        np.copyto(best, self._entry(x, self._offsets[0]))
        selected[...] = 0
        for k, offset in enumerate(self._offsets[1:], start=1):
            entry = self._entry(x, offset)
            # Strictly greater: on a tie the earlier offset keeps the gradient.
            better = entry > best
            np.maximum(best, entry, out=best)
            selected += (k - selected) * better                # k where better, else kept

    def _backward(self, g):
        tiled = self.stride == self.kernel_size and all(
            size % k == 0 for size, k in zip(self._x_shape[2:], self.kernel_size, strict=True))
        # Speed: when the windows tile x exactly, every input is in one window
        # at one offset, so each offset's block is written once, not added to
        # a zeroed array.
        dx = (np.empty if tiled else np.zeros)(self._x_shape, dtype=g.dtype)
        for block in self._blocks(dx):                         # speed: see _blocks
            self._route(g[block], self._selected[block], dx[block], tiled)
        return dx

    def _route(self, g, selected, dx, tiled):
        """Add (or, ``tiled``, write) each ``g`` entry at its window's selected offset in ``dx``."""
        for k, offset in enumerate(self._offsets):
            entry = self._entry(dx, offset)
            # g_{n,c,i,j} where offset k was selected, 0 elsewhere.
            if tiled:
                np.multiply(g, selected == k, out=entry)
            else:
                # Overlapping windows may select the same input: add.
                entry += g * (selected == k)

    def _blocks(self, x):
        """Speed only: blocks of samples of about ``POOL_BLOCK_BYTES`` of ``x``.

        Each offset's pass over a block finds the block still in the cache
        (measured in benchmarks/README.md, "Convolution"); the samples are
        independent, so the result does not depend on the blocks.
        """
        return sample_blocks(x.shape[0], x[:1].nbytes, POOL_BLOCK_BYTES)


class AvgPool2D(_Pool2D):
    r"""Average pooling: :math:`y_{n,c,i,j} = \frac{1}{kh\,kw}\sum_{u,v} x_{n,c,s_h i+u,s_w j+v}`.

    VJP: :math:`g_{n,c,i,j}/(kh\,kw)` added to every entry of its window.
    """

    name = "avg_pool2d"

    def _forward(self, x):
        self._check(x)
        total = self._entry(x, self._offsets[0]).copy()
        for offset in self._offsets[1:]:
            total += self._entry(x, offset)
        return total / x.dtype.type(len(self._offsets))

    def _backward(self, g):
        share = g / g.dtype.type(len(self._offsets))
        dx = np.zeros(self._x_shape, dtype=g.dtype)
        for offset in self._offsets:
            self._entry(dx, offset)[...] += share
        return dx
