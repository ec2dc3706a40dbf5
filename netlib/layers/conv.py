r"""2-D convolution (NCHW) by im2col, and the window helpers pooling shares.

Like every deep-learning library, "convolution" here is a cross-correlation:
with input ``x`` of shape ``(N, C, H, W)``, zero padding :math:`p`, stride
:math:`s` and kernel ``W`` of shape ``(O, C, kh, kw)``,

.. math:: y_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\,
          x^\text{pad}_{n,\,c,\,s i + u,\,s j + v}.

**im2col.** Gather every window into a row of a matrix :math:`X_\text{col}`
(rows: the :math:`N \cdot OH \cdot OW` output positions; columns: the
:math:`C \cdot kh \cdot kw` window entries, row-major). The convolution is then
one matrix product, :math:`Y_\text{mat} = X_\text{col} W_\text{mat}^\top` with
:math:`W_\text{mat}` the kernel reshaped to ``(O, C*kh*kw)`` - a dense layer
applied at every position, so its VJPs are the dense ones:

.. math:: \frac{\partial L}{\partial W_\text{mat}} = G_\text{mat}^\top X_\text{col}, \qquad
          \frac{\partial L}{\partial X_\text{col}} = G_\text{mat} W_\text{mat},

and :math:`\partial L/\partial x` is the *transpose of im2col* applied to
:math:`\partial L/\partial X_\text{col}`: "col2im", which adds each window's
gradient back where the window came from (overlapping windows add up).

**The same thing as a correlation.** For stride 1 and no padding, collecting
the terms of :math:`\partial L/\partial x_{n,c,h,w}` gives

.. math:: \frac{\partial L}{\partial x_{n,c}} = \sum_o
          \big(G_{n,o} \text{ zero-padded by } (kh-1, kw-1)\big) \star
          \operatorname{rot}_{180}(W_{o,c}),

a *full* correlation of the upstream gradient with the kernel flipped in both
axes (i.e. a true convolution). Using the unflipped kernel is a classic bug;
for stride :math:`s` the gradient is first dilated (:math:`s - 1` zeros
between entries), and padding crops the result. col2im computes exactly this
sum without forming the flipped kernel. The kernel gradient is the
correlation of the input with the upstream gradient,
:math:`\partial L/\partial W_{o,c} = \sum_n x^\text{pad}_{n,c} \star G_{n,o}`,
and :math:`\partial L/\partial b_o = \sum_{n,i,j} G_{n,o,i,j}`.

For stride 1 ``Conv2D`` computes :math:`\partial L/\partial x` in that
form, as a forward convolution of the padded ``g`` with the turned kernel
(:func:`rot180_kernel`); for other strides by col2im.

Nothing loops over pixels: each sample's im2col matrix is filled with one
vectorised slice copy per kernel offset :math:`(u, v)`, the products are BLAS
matrix products, and col2im adds one slice per kernel offset. The samples of a
batch are processed in blocks of a few; why, and how many, is the one speed
measure of this file, in the section "speed" below.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import as_float_array, check_ndim, float_dtype, positive_ints
from netlib.layers.base import Layer
from netlib.layers.dense import init_weight

__all__ = ["Conv2D"]


def pair(who: str, label: str, value, minimum: int) -> tuple[int, int]:
    """``value`` as an ``(int, int)`` pair (an int means the same on both axes)."""
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum
                                  for v in items):
        raise ValueError(f"{who}: expected {label} as an integer >= {minimum} or a pair of "
                         f"them, got {value!r}")
    return int(items[0]), int(items[1])


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Number of window positions along one axis: ``(size + 2p - k) // s + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def window_offset(x: np.ndarray, u: int, v: int, out_hw: tuple[int, int],
                  stride: tuple[int, int]) -> np.ndarray:
    """View of entry ``(u, v)`` of every window: ``x[:, :, s_h*i + u, s_w*j + v]``.

    Shape ``(N, C, OH, OW)``, indexed by the window position ``(i, j)``.
    """
    (oh, ow), (sh, sw) = out_hw, stride
    return x[:, :, u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw]


def pad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """``x`` ``(N, C, H, W)`` with ``(p_h, p_w)`` zeros added on both sides of H and W."""
    (ph, pw), (n, c, h, w) = padding, x.shape
    if not (ph or pw):
        return x
    x_pad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    x_pad[:, :, ph:ph + h, pw:pw + w] = x
    return x_pad


def im2col(x_pad: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           out_hw: tuple[int, int]) -> np.ndarray:
    r"""The windows of the padded ``x_pad`` ``(N, C, H_p, W_p)`` as columns ``(N, C*kh*kw, OH*OW)``.

    Entry ``[n, (c, u, v), (i, j)]`` (row-major pairs) is
    ``x_pad[n, c, s_h*i + u, s_w*j + v]``: sample ``n``'s :math:`X_\text{col}^\top`,
    one row per window entry :math:`(c, u, v)` - the order of
    ``W.reshape(O, C*kh*kw)``'s columns - and one column per output position.
    """
    (n, c), (kh, kw), (oh, ow) = x_pad.shape[:2], kernel, out_hw
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x_pad.dtype)
    for u in range(kh):
        for v in range(kw):
            # Entry (u, v) of window (i, j) is x_pad[.., s_h*i + u, s_w*j + v].
            cols[:, :, u, v] = window_offset(x_pad, u, v, out_hw, stride)
    return cols.reshape(n, c * kh * kw, oh * ow)


def col2im(d_cols: np.ndarray, dx_pad: np.ndarray, kernel: tuple[int, int],
           stride: tuple[int, int], out_hw: tuple[int, int]) -> None:
    """The transpose of :func:`im2col`: adds ``d_cols`` ``(N, C*kh*kw, OH*OW)`` into ``dx_pad``.

    Each entry is added to the (padded) input position its window entry was
    read from, so entries of overlapping windows accumulate. Loops over the
    kernel offsets ``(u, v)`` only; each step adds a whole ``(N, C, OH, OW)``
    block at once.
    """
    (n, c), (kh, kw), (oh, ow) = dx_pad.shape[:2], kernel, out_hw
    d_windows = d_cols.reshape(n, c, kh, kw, oh, ow)
    for u in range(kh):
        for v in range(kw):
            # Window (i, j) read offset (u, v) from x_pad[.., s_h*i + u, s_w*j + v].
            window_offset(dx_pad, u, v, out_hw, stride)[...] += d_windows[:, :, u, v]


def conv2d(x_pad: np.ndarray, W: np.ndarray, stride: tuple[int, int], y: np.ndarray) -> None:
    """Forward convolution without the bias, written into ``y`` ``(N, O, OH, OW)``."""
    n, o, oh, ow = y.shape
    cols = im2col(x_pad, W.shape[2:], stride, (oh, ow))       # X_colᵀ per sample
    # Y_matᵀ = W_mat X_colᵀ for every sample n: (O, C*kh*kw) @ (C*kh*kw, OH*OW),
    # so y comes out as (N, O, OH*OW), already NCHW.
    np.matmul(W.reshape(o, -1), cols, out=y.reshape(n, o, oh * ow))


def conv2d_vjp(g: np.ndarray, x_pad: np.ndarray, W: np.ndarray, stride: tuple[int, int],
               dW_t: np.ndarray, dx_pad: np.ndarray | None) -> None:
    r"""VJPs of :func:`conv2d` for upstream ``g`` ``(N, O, OH, OW)``, added to ``dW_t``, ``dx_pad``.

    The dense-layer VJPs on each sample's im2col matrix:
    :math:`\partial L/\partial W_\text{mat} \mathrel{+}= G_\text{mat}^\top X_\text{col}`
    (added to ``dW_t`` as its transpose, ``(C*kh*kw, O)``) and
    :math:`\partial L/\partial X_\text{col} = G_\text{mat} W_\text{mat}`, which
    col2im adds back where each window entry came from.
    """
    n, o, oh, ow = g.shape
    W_mat, g_mat = W.reshape(o, -1), g.reshape(n, o, oh * ow)  # per sample G_matᵀ
    cols = im2col(x_pad, W.shape[2:], stride, (oh, ow))       # X_colᵀ, as in conv2d
    # (G_matᵀ X_col)ᵀ = X_colᵀ G_mat = cols g_matᵀ, per sample: (C*kh*kw, OH*OW) @
    # (OH*OW, O) sums the positions (i, j); .sum(axis=0) sums the samples n.
    dW_t += np.matmul(cols, g_mat.transpose(0, 2, 1)).sum(axis=0)
    if dx_pad is not None:
        # (G_mat W_mat)ᵀ = W_matᵀ G_matᵀ per sample: (C*kh*kw, O) @ (O, OH*OW); the
        # output channels o are summed.
        col2im(np.matmul(W_mat.T, g_mat), dx_pad, W.shape[2:], stride, (oh, ow))


def rot180_kernel(W: np.ndarray) -> np.ndarray:
    """``W`` ``(O, C, kh, kw)`` turned by 180° in its spatial axes, as a ``(C, O, kh, kw)`` kernel.

    Entry ``[c, o, u, v]`` is ``W[o, c, kh-1-u, kw-1-v]``: the kernel of the
    stride-1 input gradient, a correlation from the O channels of ``g`` to the
    C channels of ``x``.
    """
    return np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


# -- speed ---------------------------------------------------------------------------------
#
# One trick, measured in benchmarks/README.md ("Convolution"): Conv2D calls
# conv2d and conv2d_vjp on blocks of a few samples, not on the whole batch.
# The mathematics is per sample anyway (each sample has its own im2col
# matrix); the block only decides how many samples' im2col matrices exist at
# once. A block's matrix (about SAMPLE_BLOCK_BYTES) stays in the processor's
# cache between the copy that builds it and the matrix product that reads it,
# where the whole batch's (7 MB for the second conv of the Fashion-MNIST CNN,
# 38 MB for 64 channels at 16×16) goes to memory and back. For the same
# reason the backward pass rebuilds each block's im2col matrix from the padded
# input instead of keeping the whole batch's from the forward pass.

#: Target size of one block's im2col matrix, in bytes.
SAMPLE_BLOCK_BYTES = 256 * 1024


def sample_blocks(n: int, cols_bytes_per_sample: int, target: int | None = None) -> list[slice]:
    """Consecutive slices of the batch, each of about ``target`` bytes (default: of im2col).

    Speed only (the result does not depend on it): a block's im2col matrix is
    read by the matrix product while it is still in the cache (see the
    section "speed" of ``netlib/layers/conv.py``; max pooling blocks its
    input the same way).
    """
    target = SAMPLE_BLOCK_BYTES if target is None else target     # read at each call
    size = max(1, target // max(1, cols_bytes_per_sample))
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


class Conv2D(Layer):
    r"""2-D convolution (cross-correlation) on NCHW batches, by im2col.

    .. math:: y_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\, x^\text{pad}_{n,c,s_h i+u,s_w j+v}

    ``x`` has shape ``(N, C_in, H, W)``, ``W`` ``(C_out, C_in, kh, kw)``, ``b``
    ``(C_out,)``, ``y`` ``(N, C_out, OH, OW)`` with
    :math:`OH = \lfloor (H + 2p_h - kh)/s_h \rfloor + 1` (likewise ``OW``).
    VJPs (see the module docstring for the derivation): ``dx`` is col2im of
    :math:`G_\text{mat} W_\text{mat}`, equivalently the full correlation of
    the (dilated) upstream gradient with the kernel flipped in both spatial
    axes; ``dW`` is the correlation of the padded input with ``g``; ``db`` is
    ``g`` summed over batch and positions.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C_in`` and ``C_out``.
    kernel_size, stride, padding : int or (int, int)
        Kernel ``(kh, kw)``, stride ``(s_h, s_w)``, zero padding ``(p_h, p_w)``
        added on both sides of each spatial axis.
    bias : bool
        Whether to add a per-channel bias ``b``.
    init : {"he", "xavier", "normal"}
        Initialiser with fan-in ``C_in*kh*kw`` (see :func:`~netlib.layers.dense.init_weight`).
    rng : numpy.random.Generator, optional
        Randomness for the weights.
    dtype : float32 or float64
        Dtype of the parameters and of the computation.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2D(2, 3, (2, 3), stride=1, padding=1, rng=np.random.default_rng(0))
    >>> y = conv.forward(np.ones((1, 2, 4, 5)))
    >>> y.shape
    (1, 3, 5, 5)
    >>> conv.backward(np.ones(y.shape)).shape, conv.grads["W"].shape
    ((1, 2, 4, 5), (3, 2, 2, 3))
    """

    name = "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride=1,
                 padding=0, bias: bool = True, init: str = "he", std: float = 0.01,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        who = "Conv2D"
        self.in_channels, self.out_channels = positive_ints(
            who, in_channels=in_channels, out_channels=out_channels)
        dtype = float_dtype(who, dtype)
        self.kernel_size = pair(who, "kernel_size", kernel_size, 1)
        self.stride = pair(who, "stride", stride, 1)
        self.padding = pair(who, "padding", padding, 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        rng = np.random.default_rng() if rng is None else rng
        W = init_weight(fan_in, self.out_channels, init, rng, std, dtype, who)   # (fan_in, out)
        self.params["W"] = np.ascontiguousarray(W.T).reshape(self.out_channels,
                                                             self.in_channels, kh, kw)
        if bias:
            self.params["b"] = np.zeros(self.out_channels, dtype=dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    @classmethod
    def from_params(cls, W, b=None, *, stride=1, padding=0) -> Conv2D:
        """Build a layer around given kernel ``W`` ``(C_out, C_in, kh, kw)`` and bias (copied)."""
        W = as_float_array("Conv2D.from_params", "W", W)
        check_ndim("Conv2D.from_params", "W", W, 4, "(C_out, C_in, kh, kw)")
        o, c, kh, kw = W.shape
        layer = cls(c, o, (kh, kw), stride=stride, padding=padding, bias=b is not None,
                    init="normal", std=0.0, dtype=W.dtype)
        values = {"W": W} if b is None else {"W": W, "b": b}
        return layer.set_params("Conv2D.from_params", **values)

    def describe(self):
        extra = "" if "b" in self.params else ", bias=False"
        return (f"Conv2D({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}{extra})")

    def _forward(self, x):
        who = self.describe()
        expected = f"(batch, {self.in_channels}, height, width)"
        check_ndim(who, "x", x, 4, expected)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{who}: expected x of shape {expected} (NCHW), got shape "
                             f"{x.shape}")
        for axis, k, p in ((2, self.kernel_size[0], self.padding[0]),
                           (3, self.kernel_size[1], self.padding[1])):
            if x.shape[axis] + 2 * p < k:
                raise ValueError(f"{who}: expected a padded input at least as large as the "
                                 f"kernel {self.kernel_size}, got x of shape {x.shape}")
        W, b = self.params["W"], self.params.get("b")
        n, (kh, kw), (sh, sw), (ph, pw) = x.shape[0], self.kernel_size, self.stride, self.padding
        out_hw = (output_size(x.shape[2], kh, sh, ph), output_size(x.shape[3], kw, sw, pw))
        self._x_pad = pad(x, self.padding)
        self._x_shape = x.shape
        y = np.empty((n, self.out_channels, *out_hw), dtype=x.dtype)
        for block in self._blocks(self.in_channels, out_hw, n):   # see "speed" above
            conv2d(self._x_pad[block], W, self.stride, y[block])
        if b is not None:
            y += b[:, None, None]                                # + b_o at every position
        return y

    def _blocks(self, channels, out_hw, n):
        """Blocks of samples for an im2col of ``channels`` input channels (see "speed")."""
        kh, kw = self.kernel_size
        itemsize = self.params["W"].itemsize
        return sample_blocks(n, channels * kh * kw * out_hw[0] * out_hw[1] * itemsize)

    def _backward(self, g):
        W = self.params["W"]
        (kh, kw), (ph, pw), (h, w) = self.kernel_size, self.padding, self._x_shape[2:]
        # Stride 1 (padding smaller than the kernel): dx is the full correlation of
        # g with the kernel turned by 180°, computed as a forward convolution
        # below; otherwise col2im in conv2d_vjp adds dX_col back window by window.
        as_correlation = self.stride == (1, 1) and ph < kh and pw < kw
        by_col2im = self.input_gradient and not as_correlation
        dW_t = np.zeros((W[0].size, self.out_channels), dtype=W.dtype)   # (dL/dW_mat)ᵀ
        dx_pad = np.zeros_like(self._x_pad) if by_col2im else None
        for block in self._blocks(self.in_channels, g.shape[2:], g.shape[0]):  # see "speed"
            conv2d_vjp(g[block], self._x_pad[block], W, self.stride, dW_t,
                       dx_pad[block] if by_col2im else None)
        self.grads["W"][...] = dW_t.T.reshape(W.shape)
        if "b" in self.grads:
            self.grads["b"][...] = g.sum(axis=(0, 2, 3))        # b_o is used at every position
        if not self.input_gradient:            # the data's gradient: nobody needs it
            return None
        if by_col2im:
            return dx_pad[:, :, ph:ph + h, pw:pw + w]            # padding got no gradient
        # dL/dx = pad(g) ⋆ rot180(W): g zero-padded by (kh-1-p_h, kw-1-p_w) so that
        # every window overlapping x is seen (a "full" correlation, cropped by p).
        g_pad, W_rot = pad(g, (kh - 1 - ph, kw - 1 - pw)), rot180_kernel(W)
        dx = np.empty(self._x_shape, dtype=g.dtype)
        for block in self._blocks(self.out_channels, (h, w), g.shape[0]):   # see "speed"
            conv2d(g_pad[block], W_rot, (1, 1), dx[block])
        return dx
