r"""2-D convolution (NCHW), restated entry by entry from its definition.

Arrays of rank 4 are SymPy matrices with the leading axes stacked as rows (``x``
of shape ``(N, C, H, W)`` is the ``(N·C·H) × W`` matrix, see
:func:`derivations.core.matrix_shape`); an entry's geometries are its :class:`ConvCase` s.

The stated VJPs compose named operations (:class:`ConvOperator`, described for the
page in ``_OPERATORS``). As ``mat(Y) = im2col(X) mat(W)ᵀ + 1 bᵀ``, both entries state
``∂L/∂W = mat⁻¹(mat(G)ᵀ im2col(X))`` and ``∂L/∂b = 1ᵀ mat(G)``; for the input,
``conv2d`` (stride 1, no padding) the full correlation of the padded G with the
kernel turned by 180°, ``pad(G) ⋆ rot180(W)``, and ``conv2d_strided`` the transpose of
the im2col product, ``col2im(mat(G) mat(W))``. The flipped-kernel form holds with a
stride too, on G dilated by the stride and cropped by the padding
(:func:`flipped_kernel_dx`; ``tests/test_new_layers.py`` proves both forms).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import sympy

from derivations.core import Derivation, Mutant, matrix_shape
from derivations.layers.conv_geometry import (
    PLAIN,
    STRIDED,
    ConvCase,
    Geometry,
    array_entry,
    col2im,
    convolution,
    g_mat,
    im2col,
    matrix_from_4d,
    w_mat,
)
from derivations.notation import Operator, matrix, size
from netlib import Conv2D

# -- the page's notation ----------------------------------------------------------------
# N images, C/O input/output channels, H×W_in inputs, k_h×k_w kernels, H'×W' outputs;
# the arrays are stored as (N·C·H)×W_in, (O·C·k_h)×k_w and (N·O·H')×W' matrices.
N, C, O, H, W_IN, KH, KW, HO, WO = (size(n) for n in (
    "N", "C", "O", "H", "W_in", "k_h", "k_w", "H'", "W'"))
X, W, G = matrix("x", size("NCH"), W_IN), matrix("W", size("OCk_h"), KW), matrix(
    "G", size("NOH'"), WO)


class ConvOperator(Operator):
    """A named operation: finds its case (``geometry``, set per entry) by its argument's shape."""

    geometry: Geometry
    key, name = "G", ""         # key: the argument's array in ConvCase.matrix_shapes

    def case(self, argument) -> ConvCase:
        return self.geometry.case(self.key, argument.shape)

    def _latex(self, printer):
        argument = self.args[0]
        if isinstance(argument, sympy.MatrixSymbol):
            return rf"{self.name}({printer._print(argument)})"
        return rf"{self.name}\big({printer._print(argument)}\big)"


class Mat(ConvOperator):
    """mat(G): a row per output position (n, i, j), a column per output channel o."""
    name, shape = r"\operatorname{mat}", property(lambda self: (N * HO * WO, O))

    def explicit(self, G):
        return g_mat(G, self.case(G))


class KernelMat(ConvOperator):
    """mat(W): the kernel as O × (C·k_h·k_w), a row per output channel."""
    key, name, shape = "W", r"\operatorname{mat}", property(lambda self: (O, C * KH * KW))

    def explicit(self, W):
        return w_mat({"W": W}, self.case(W))


class KernelUnmat(ConvOperator):
    """mat⁻¹(M): an O × (C·k_h·k_w) matrix back in the kernel's shape."""
    key, name, shape = "mat(W)", r"\operatorname{mat}^{-1}", property(lambda self: (O * C * KH, KW))

    def explicit(self, M):
        return M.reshape(*matrix_shape(self.case(M).kernel))


class Im2col(ConvOperator):
    """im2col(X): a row per output position (n, i, j), a column per window entry (c, u, v)."""
    key, name = "x", r"\operatorname{im2col}"
    shape = property(lambda self: (N * HO * WO, C * KH * KW))

    def explicit(self, X):
        return im2col({"x": X}, self.case(X))


class Col2im(ConvOperator):
    """col2im(M): im2col's transpose, each entry of M added back where im2col read it."""
    key, name = "im2col(x)", r"\operatorname{col2im}"
    shape = property(lambda self: (N * C * H, W_IN))

    def explicit(self, M):
        return col2im(M, self.case(M))


class Pad(ConvOperator):
    """pad(G): k_h - 1 rows and k_w - 1 columns of zeros on each side of every image."""
    name, shape = r"\operatorname{pad}_{k_h-1,\,k_w-1}", property(
        lambda self: (N * O * (HO + 2 * KH - 2), WO + 2 * KW - 2))

    def explicit(self, G):
        case = self.case(G)
        g, (kh, kw), (oh, ow) = array_entry(G, case.out), case.kernel[2:], case.out[2:]
        return matrix_from_4d(case.g_pad, lambda n, o, i, j: g(n, o, i - kh + 1, j - kw + 1)
                              if kh - 1 <= i < oh + kh - 1 and kw - 1 <= j < ow + kw - 1
                              else sympy.S.Zero)


class Rot180(ConvOperator):
    """rot₁₈₀(W): every k_h×k_w slice of the kernel turned by 180°."""
    key, name, shape = "W", r"\operatorname{rot}_{180}", property(lambda self: self.args[0].shape)

    def explicit(self, W):
        kernel = self.case(W).kernel
        w, (kh, kw) = array_entry(W, kernel), kernel[2:]
        return matrix_from_4d(kernel, lambda o, c, u, v: w(o, c, kh - 1 - u, kw - 1 - v))


class Correlate(ConvOperator):
    """P ⋆ K summed over the output channels: Σ_{o,u,v} P[n, o, h+u, w+v] K[o, c, u, v]."""
    key, shape = "G_pad", property(lambda self: (N * C * H, W_IN))

    def explicit(self, P, K):
        case = self.case(P)
        p, k = array_entry(P, case.g_pad), array_entry(K, case.kernel)
        o_out, _, kh, kw = case.kernel
        return matrix_from_4d(case.x, lambda n, c, h, w: sum(
            p(n, o, h + u, w + v) * k(o, c, u, v)
            for o in range(o_out) for u in range(kh) for v in range(kw)))

    def _latex(self, printer):
        return r" \star ".join(printer._print(a) for a in self.args)


class OnesFor(Operator):
    r""":math:`\mathbf 1`: a column with a row per row of its argument (``1ᵀ M`` sums M's rows)."""
    shape = property(lambda self: (self.args[0].shape[0], 1))

    def explicit(self, M):
        return sympy.ones(M.rows, 1)

    def _latex(self, printer):
        return r"\mathbf{1}"


def operators(geometry: Geometry, prefix: str) -> SimpleNamespace:
    """The operators with ``geometry`` baked in (``P.Mat(G)``); ``prefix`` sets their
    names apart, so that srepr (and so a cache key) tells the geometries apart."""
    return SimpleNamespace(**{cls.__name__: type(prefix + cls.__name__, (cls,), {
        "geometry": geometry}) for cls in (Mat, KernelMat, KernelUnmat, Im2col, Col2im, Pad,
                                           Rot180, Correlate)})


P, S = operators(PLAIN, "Plain"), operators(STRIDED, "Strided")

_DEFINITION = (r"y_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\, "
               r"x^\text{pad}_{n,c,\,s_h i + u,\,s_w j + v}")
_OPERATORS = ("im2col(X) has a row per output position (n, i, j) and a column per window "
              "entry (c, u, v) of the padded input; mat(G) a row per output position and a "
              "column per output channel; mat(W) is the kernel as O × (C·k_h·k_w), mat⁻¹ "
              "puts such a matrix back in the kernel's shape, and 1ᵀ sums over the rows. "
              "Then mat(Y) = im2col(X) mat(W)ᵀ + 1bᵀ. ")

class Conv2DUnflippedKernel(Conv2D):
    def _backward(self, g):
        dx = super()._backward(g)
        W = self.params["W"]
        # Recompute dx with the kernel rotated by 180°: in the "full correlation
        # with the flipped kernel" view, this is correlating with the unflipped one.
        self.params["W"] = np.ascontiguousarray(W[:, :, ::-1, ::-1])
        try:
            dx = super()._backward(g)
        finally:
            self.params["W"] = W
        super()._backward(g)                                # dW, db from the true kernel
        return dx


CONV2D = Derivation(
    name="conv2d",
    title="Conv2D (stride 1, no padding)",
    netlib_class=Conv2D,
    definition_latex=_DEFINITION,
    inputs=("x", "W", "b"),
    shape_sets=tuple(c.shapes() for c in PLAIN.cases),
    forward=lambda s: convolution(s, PLAIN.of_symbols(s)),
    stated={
        # The full correlation of G with the kernel turned by 180°, over the channels o.
        "x": P.Correlate(P.Pad(G), P.Rot180(W)),
        # mat(Y) = im2col(X) mat(W)ᵀ: mat(W)'s gradient is mat(G)ᵀ im2col(X).
        "W": P.KernelUnmat(P.Mat(G).T * P.Im2col(X)),
        # b_o is added at every output position: sum mat(G) over its rows.
        "b": OnesFor(P.Mat(G)).T * P.Mat(G),
    },
    build=PLAIN.build,
    run=PLAIN.run,
    hyper=PLAIN.hyper(),
    notes=_OPERATORS + "pad(G) adds k_h - 1 rows and k_w - 1 columns of zeros on each "
          "side of every image, rot₁₈₀ turns each k_h × k_w kernel slice by 180°, and P ⋆ K "
          "correlates summing over the output channels o: Σ_{o,u,v} P[n, o, h+u, w+v] "
          "K[o, c, u, v]. Deep-learning 'convolution' is a cross-correlation; its input "
          "gradient is a true convolution, i.e. a correlation with the kernel flipped in "
          "both spatial axes. Correlating with the unflipped kernel is a classic bug "
          "(a mutant in the catalogue).",
    mutants=(
        Mutant("conv2d_unflipped_kernel",
               'dx from the kernel without its 180° rotation (correlation '
               'with the unflipped kernel)',
               'dx mirrored within each window',
               Conv2DUnflippedKernel),
    ),
)

class Conv2DBiasAveraged(Conv2D):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"][...] = g.mean(axis=(0, 2, 3))       # a mean where the sum belongs
        return dx


CONV2D_STRIDED = Derivation(
    name="conv2d_strided",
    title="Conv2D (stride and zero padding)",
    netlib_class=Conv2D,
    definition_latex=_DEFINITION,
    inputs=("x", "W", "b"),
    shape_sets=tuple(c.shapes() for c in STRIDED.cases),
    forward=lambda s: convolution(s, STRIDED.of_symbols(s)),
    stated={
        # mat(Y) = im2col(X) mat(W)ᵀ: im2col(X)'s gradient is mat(G) mat(W), and
        # col2im, im2col's transpose, adds each entry back where it was read.
        "x": S.Col2im(S.Mat(G) * S.KernelMat(W)),
        "W": S.KernelUnmat(S.Mat(G).T * S.Im2col(X)),
        "b": OnesFor(S.Mat(G)).T * S.Mat(G),
    },
    build=STRIDED.build,
    run=STRIDED.run,
    hyper=STRIDED.hyper(),
    notes=_OPERATORS + "col2im is im2col's transpose: it adds each entry back where "
          "im2col read it, dropping the padding. With stride 2 some input rows fall "
          "between windows or only in the padding's reach; their gradient is exactly "
          "zero, and col2im adds overlapping windows' contributions.",
    mutants=(
        Mutant("conv2d_strided_db_averaged",
               "db = mean of G over the batch and positions: 1/(N H' W') applied",
               "db is 1/(N H' W') of the truth",
               Conv2DBiasAveraged),
    ),
)
