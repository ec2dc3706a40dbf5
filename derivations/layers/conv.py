r"""2-D convolution (NCHW), restated entry by entry from its definition.

.. math:: y_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\,
          x^\text{pad}_{n,\,c,\,s_h i + u,\,s_w j + v}

Arguments of rank 4 are SymPy matrices with the leading axes stacked as rows
(``x`` of shape ``(N, C, H, W)`` is the ``(N·C·H) × W`` matrix; see
:func:`derivations.core.matrix_shape`), so the forward map looks the full
shapes up from the shape set (:class:`ConvCase`).

Two entries, two ways of stating the input gradient, each proved equal to
``reshape(Jᵀ vec G)``:

* ``conv2d`` (stride 1, no padding) states it as a **full correlation of the
  upstream gradient with the kernel flipped** in both spatial axes:

  .. math:: \frac{\partial L}{\partial x_{n,c}} = \sum_o \operatorname{pad}_{kh-1,\,kw-1}(G_{n,o})
            \star \operatorname{rot}_{180}(W_{o,c});

* ``conv2d_strided`` (stride and zero padding) states it as the **transpose of
  the im2col product**: :math:`X_\text{col}` gathers the windows, the
  convolution is :math:`Y_\text{mat} = X_\text{col} W_\text{mat}^\top`, so
  :math:`\partial L/\partial X_\text{col} = G_\text{mat} W_\text{mat}` and
  col2im (im2col's transpose: add each window entry back where it was read)
  gives :math:`\partial L/\partial x`. The flipped-kernel form holds there too,
  on the gradient dilated by the stride, then cropped by the padding
  (:func:`flipped_kernel_dx` covers both; ``tests/test_new_layers.py`` proves
  each form at each entry's shapes).

The kernel gradient is the correlation of the padded input with the
upstream gradient, :math:`\partial L/\partial W = G_\text{mat}^\top X_\text{col}`,
and :math:`\partial L/\partial b_o = \sum_{n,i,j} G_{n,o,i,j}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import Derivation, matrix_shape, uniform_sample
from netlib import Conv2D


@dataclass(frozen=True)
class ConvCase:
    """One convolution geometry: input ``(N, C, H, W)``, kernel ``(O, C, kh, kw)``."""

    x: tuple[int, int, int, int]
    kernel: tuple[int, int, int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    @property
    def out(self) -> tuple[int, int, int, int]:
        n, _, h, w = self.x
        o, _, kh, kw = self.kernel
        (sh, sw), (ph, pw) = self.stride, self.padding
        return (n, o, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)

    def shapes(self) -> dict:
        return {"x": self.x, "W": self.kernel, "b": (self.kernel[0],)}


def array_entry(M: sympy.Matrix, shape: tuple):
    """Entry ``[a, b, c, d]`` of the 4-D array whose row-stacked matrix is ``M``."""
    _, s1, s2, _ = shape

    def get(a, b, c, d):
        return M[(a * s1 + b) * s2 + c, d]

    return get


def matrix_from_4d(shape: tuple, entry) -> sympy.Matrix:
    """The row-stacked matrix of the 4-D array ``entry(a, b, c, d)`` of ``shape``."""
    _, n1, n2, n3 = shape
    rows = matrix_shape(shape)[0]
    return sympy.Matrix(rows, n3, lambda r, d: entry(r // (n1 * n2), (r // n2) % n1, r % n2, d))


def _padded(x, case: ConvCase):
    """``x_pad[n, c, h, w]``: zero outside the input (the zero padding)."""
    _, _, h_in, w_in = case.x
    ph, pw = case.padding

    def get(n, c, h, w):
        h, w = h - ph, w - pw
        return x(n, c, h, w) if 0 <= h < h_in and 0 <= w < w_in else sympy.S.Zero

    return get


def convolution(symbols, case: ConvCase) -> sympy.Matrix:
    """The definition, one sum per output entry."""
    x = _padded(array_entry(symbols["x"], case.x), case)
    W = array_entry(symbols["W"], case.kernel)
    b = symbols["b"]
    _, c_in, kh, kw = case.kernel
    sh, sw = case.stride
    return matrix_from_4d(case.out, lambda n, o, i, j: b[o] + sum(
        W(o, c, u, v) * x(n, c, sh * i + u, sw * j + v)
        for c in range(c_in) for u in range(kh) for v in range(kw)))


def flipped_kernel_dx(G: sympy.Matrix, symbols, case: ConvCase) -> sympy.Matrix:
    r""":math:`\partial L/\partial x` as a full correlation with the flipped kernel.

    Dilate ``G`` by the stride (``s - 1`` zeros between entries), pad it by
    ``k - 1`` on every side, correlate with :math:`\operatorname{rot}_{180} W`
    summed over the output channels; the result covers the padded input
    (rows past the last window get nothing), and the padding is cropped off.
    """
    g = array_entry(G, case.out)
    W = array_entry(symbols["W"], case.kernel)
    _, o_out, oh, ow = case.out
    kh, kw = case.kernel[2:]
    (sh, sw), (ph, pw) = case.stride, case.padding

    def g_dilated_padded(n, o, a, b):
        # Position a of the dilated, (kh-1)-padded G holds G[i] at a = kh-1 + s i.
        a, b = a - (kh - 1), b - (kw - 1)
        if a < 0 or b < 0 or a % sh or b % sw:
            return sympy.S.Zero
        i, j = a // sh, b // sw
        return g(n, o, i, j) if i < oh and j < ow else sympy.S.Zero

    def dx(n, c, h, w):
        a, b = h + ph, w + pw                       # position in the padded input
        return sum(g_dilated_padded(n, o, a + u, b + v) * W(o, c, kh - 1 - u, kw - 1 - v)
                   for o in range(o_out) for u in range(kh) for v in range(kw))

    return matrix_from_4d(case.x, dx)


def im2col(symbols, case: ConvCase) -> sympy.Matrix:
    r""":math:`X_\text{col}`: a row per output position (n, i, j), a column per (c, u, v)."""
    x = _padded(array_entry(symbols["x"], case.x), case)
    n_out, _, oh, ow = case.out
    _, c_in, kh, kw = case.kernel
    sh, sw = case.stride
    return sympy.Matrix(n_out * oh * ow, c_in * kh * kw, lambda r, q: x(
        r // (oh * ow), q // (kh * kw), sh * ((r // ow) % oh) + (q // kw) % kh,
        sw * (r % ow) + q % kw))


def _g_mat(G: sympy.Matrix, case: ConvCase) -> sympy.Matrix:
    """:math:`G_\\text{mat}`: rows ``(n, i, j)`` like :func:`im2col`, columns ``o``."""
    g = array_entry(G, case.out)
    n_out, o_out, oh, ow = case.out
    return sympy.Matrix(n_out * oh * ow, o_out,
                        lambda r, o: g(r // (oh * ow), o, (r // ow) % oh, r % ow))


def _w_mat(symbols, case: ConvCase) -> sympy.Matrix:
    """:math:`W_\\text{mat}`: the kernel as ``O × (C·kh·kw)``, row-major."""
    return symbols["W"].reshape(case.kernel[0], int(np.prod(case.kernel[1:])))


def im2col_transpose_dx(G: sympy.Matrix, symbols, case: ConvCase) -> sympy.Matrix:
    r""":math:`\partial L/\partial x` = col2im of :math:`G_\text{mat} W_\text{mat}`.

    col2im is the transpose of im2col: entry ``(r, q)`` of
    :math:`\partial L/\partial X_\text{col}` is added to the input entry that
    :func:`im2col` read into ``(r, q)``.
    """
    d_cols = _g_mat(G, case) * _w_mat(symbols, case)
    oh, ow = case.out[2:]
    kh, kw = case.kernel[2:]
    (sh, sw), (ph, pw) = case.stride, case.padding
    _, _, h_in, w_in = case.x
    total: dict = {}
    for r in range(d_cols.rows):
        n, i, j = r // (oh * ow), (r // ow) % oh, r % ow
        for q in range(d_cols.cols):
            c, u, v = q // (kh * kw), (q // kw) % kh, q % kw
            h, w = sh * i + u - ph, sw * j + v - pw
            if 0 <= h < h_in and 0 <= w < w_in:      # padding entries are dropped
                total[n, c, h, w] = total.get((n, c, h, w), 0) + d_cols[r, q]
    return matrix_from_4d(case.x, lambda *k: total.get(k, sympy.S.Zero))


def kernel_gradient(G: sympy.Matrix, symbols, case: ConvCase) -> sympy.Matrix:
    r""":math:`G_\text{mat}^\top X_\text{col}` as the kernel's shape: x correlated with G."""
    return (_g_mat(G, case).T * im2col(symbols, case)).reshape(*matrix_shape(case.kernel))


def bias_gradient(G: sympy.Matrix, case: ConvCase) -> sympy.Matrix:
    """:math:`\\sum_{n,i,j} G_{n,o,i,j}`: ``b_o`` is added at every position."""
    return sympy.ones(1, _g_mat(G, case).rows) * _g_mat(G, case)


class _Geometry:
    """An entry's cases, looked up from the matrix shapes of its symbols or values."""

    def __init__(self, *cases: ConvCase) -> None:
        self.cases = cases
        self.by_matrix = {(matrix_shape(c.x), matrix_shape(c.kernel)): c for c in cases}
        self.by_x = {c.x: c for c in cases}

    def of_symbols(self, symbols) -> ConvCase:
        return self.by_matrix[symbols["x"].shape, symbols["W"].shape]

    def build(self, values) -> Conv2D:
        """The layer with the case's stride and padding (other shapes: the first case's)."""
        case = self.by_x.get(tuple(np.shape(values["x"])), self.cases[0])
        return Conv2D.from_params(values["W"], values["b"], stride=case.stride,
                                  padding=case.padding)

    def run(self, layer, values, g):
        """forward, then backward with ``g`` in the output's NCHW shape."""
        y = layer.forward(values["x"])
        dx = layer.backward(np.reshape(g, y.shape))
        return {"x": dx, **{name: np.array(v) for name, v in layer.grads.items()}}

    def hyper(self) -> dict:
        """Each case's stride and padding, written from the cases themselves."""
        return {"stride, padding": "; ".join(
            f"{c.stride}, {c.padding} for {'×'.join(map(str, c.x))}" for c in self.cases)}


PLAIN = _Geometry(ConvCase((1, 2, 4, 5), (3, 2, 2, 3)),
                  ConvCase((2, 1, 3, 4), (2, 1, 2, 2)))

STRIDED = _Geometry(ConvCase((1, 2, 3, 4), (2, 2, 2, 3), stride=(2, 2), padding=(1, 1)),
                    ConvCase((2, 1, 3, 4), (2, 1, 2, 2), stride=(2, 1), padding=(1, 0)))


_DEFINITION = (r"y_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\, "
               r"x^\text{pad}_{n,c,\,s_h i + u,\,s_w j + v}")

CONV2D = Derivation(
    name="conv2d",
    title="Conv2D (stride 1, no padding)",
    netlib_class=Conv2D,
    definition_latex=_DEFINITION,
    inputs=("x", "W", "b"),
    shape_sets=tuple(c.shapes() for c in PLAIN.cases),
    forward=lambda s: convolution(s, PLAIN.of_symbols(s)),
    stated={
        "x": lambda G, s: flipped_kernel_dx(G, s, PLAIN.of_symbols(s)),
        "W": lambda G, s: kernel_gradient(G, s, PLAIN.of_symbols(s)),
        "b": lambda G, s: bias_gradient(G, PLAIN.of_symbols(s)),
    },
    stated_latex={
        "x": r"\textstyle\sum_o \operatorname{pad}_{k-1}(G_{n,o}) \star "
             r"\operatorname{rot}_{180}(W_{o,c})",
        "W": r"x_{n,c} \star G_{n,o}\ \text{summed over } n\ (= G_\text{mat}^\top X_\text{col})",
        "b": r"\textstyle\sum_{n,i,j} G_{n,o,i,j}",
    },
    build=PLAIN.build,
    run=PLAIN.run,
    sample=uniform_sample(),
    hyper=PLAIN.hyper(),
    notes="Deep-learning 'convolution' is a cross-correlation; its input gradient "
          "is a true convolution, i.e. a correlation with the kernel flipped in "
          "both spatial axes. Correlating with the unflipped kernel is a classic bug "
          "(a mutant in the catalogue).",
)

CONV2D_STRIDED = Derivation(
    name="conv2d_strided",
    title="Conv2D (stride and zero padding)",
    netlib_class=Conv2D,
    definition_latex=_DEFINITION,
    inputs=("x", "W", "b"),
    shape_sets=tuple(c.shapes() for c in STRIDED.cases),
    forward=lambda s: convolution(s, STRIDED.of_symbols(s)),
    stated={
        "x": lambda G, s: im2col_transpose_dx(G, s, STRIDED.of_symbols(s)),
        "W": lambda G, s: kernel_gradient(G, s, STRIDED.of_symbols(s)),
        "b": lambda G, s: bias_gradient(G, STRIDED.of_symbols(s)),
    },
    stated_latex={
        "x": r"\operatorname{col2im}\big(G_\text{mat} W_\text{mat}\big)",
        "W": r"G_\text{mat}^\top X_\text{col}",
        "b": r"\textstyle\sum_{n,i,j} G_{n,o,i,j}",
    },
    build=STRIDED.build,
    run=STRIDED.run,
    sample=uniform_sample(),
    hyper=STRIDED.hyper(),
    notes="With stride 2 some input rows fall between windows or only in the "
          "padding's reach; their gradient is exactly zero, and col2im adds "
          "overlapping windows' contributions.",
)
