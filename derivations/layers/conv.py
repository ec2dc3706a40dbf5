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

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import sympy

from derivations.core import Derivation, matrix_shape
from derivations.notation import NotationError, Operator, matrix, size
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

    @property
    def g_pad(self) -> tuple[int, int, int, int]:
        """The shape of G padded by ``k - 1`` on every side."""
        (n, o, oh, ow), (kh, kw) = self.out, self.kernel[2:]
        return (n, o, oh + 2 * (kh - 1), ow + 2 * (kw - 1))

    def shapes(self) -> dict:
        return {"x": self.x, "W": self.kernel, "b": (self.kernel[0],)}

    def matrix_shapes(self) -> dict:
        """The matrix shape of every array an operator below takes, by name."""
        (n, o, oh, ow), (_, c, kh, kw) = self.out, self.kernel
        return {"x": matrix_shape(self.x), "W": matrix_shape(self.kernel),
                "G": matrix_shape(self.out), "G_pad": matrix_shape(self.g_pad),
                "mat(G)": (n * oh * ow, o), "mat(W)": (o, c * kh * kw),
                "im2col(x)": (n * oh * ow, c * kh * kw)}


def array_entry(M: sympy.Matrix, shape: tuple):
    """Entry ``[a, b, c, d]`` of the 4-D array whose row-stacked matrix is ``M``."""
    _, s1, s2, _ = shape
    return lambda a, b, c, d: M[(a * s1 + b) * s2 + c, d]


def matrix_from_4d(shape: tuple, entry) -> sympy.Matrix:
    """The row-stacked matrix of the 4-D array ``entry(a, b, c, d)`` of ``shape``."""
    _, n1, n2, n3 = shape
    rows = matrix_shape(shape)[0]
    return sympy.Matrix(rows, n3, lambda r, d: entry(r // (n1 * n2), (r // n2) % n1, r % n2, d))


def _padded(x, case: ConvCase):
    """``x_pad[n, c, h, w]``: zero outside the input (the zero padding)."""
    (_, _, h_in, w_in), (ph, pw) = case.x, case.padding
    return lambda n, c, h, w: (x(n, c, h - ph, w - pw) if 0 <= h - ph < h_in
                               and 0 <= w - pw < w_in else sympy.S.Zero)


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
    ``k - 1`` on every side, correlate with :math:`\operatorname{rot}_{180} W` summed
    over the output channels (the padded input's result), crop the padding off.
    """
    g, W = array_entry(G, case.out), array_entry(symbols["W"], case.kernel)
    (_, o_out, oh, ow), (kh, kw) = case.out, case.kernel[2:]
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


def col2im(d_cols: sympy.Matrix, case: ConvCase) -> sympy.Matrix:
    """im2col's transpose: entry ``(r, q)`` is added to the input entry im2col read there."""
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


def im2col_transpose_dx(G: sympy.Matrix, symbols, case: ConvCase) -> sympy.Matrix:
    r""":math:`\partial L/\partial x` = col2im of :math:`G_\text{mat} W_\text{mat}`."""
    return col2im(_g_mat(G, case) * _w_mat(symbols, case), case)


class _Geometry:
    """An entry's cases. The operators see explicit matrices only and find their case
    by their argument's shape (:meth:`case`): every such shape must differ between cases."""

    def __init__(self, *cases: ConvCase) -> None:
        self.cases = cases
        self.by_x = {c.x: c for c in cases}
        for name in cases[0].matrix_shapes():
            if len({c.matrix_shapes()[name] for c in cases}) < len(cases):
                raise ValueError(f"conv cases {cases}: two share the shape of {name}")

    def case(self, name: str, shape) -> ConvCase:
        """The case whose array ``name`` (a key of ``matrix_shapes``) has this matrix shape."""
        found = [c for c in self.cases if c.matrix_shapes()[name] == tuple(shape)]
        if not found:
            raise NotationError(f"no convolution case has {name} of shape {tuple(shape)}")
        return found[0]

    def of_symbols(self, symbols) -> ConvCase:
        return self.case("x", symbols["x"].shape)

    def build(self, values) -> Conv2D:
        """The layer with the case's stride and padding (other shapes: the first case's)."""
        case = self.by_x.get(tuple(np.shape(values["x"])), self.cases[0])
        return Conv2D.from_params(values["W"], values["b"], stride=case.stride,
                                  padding=case.padding)

    def run(self, layer, values, g):
        """forward, then backward with ``g`` in the output's NCHW shape."""
        dx = layer.backward(np.reshape(g, layer.forward(values["x"]).shape))
        return {"x": dx, **{name: np.array(v) for name, v in layer.grads.items()}}

    def hyper(self) -> dict:
        """Each case's stride and padding, written from the cases themselves."""
        return {"stride, padding": "; ".join(
            f"{c.stride}, {c.padding} for {'×'.join(map(str, c.x))}" for c in self.cases)}


PLAIN = _Geometry(ConvCase((1, 2, 4, 5), (3, 2, 2, 3)),
                  ConvCase((2, 1, 3, 4), (2, 1, 2, 2)))

# x (2, 1, 3, 5), not (2, 1, 3, 4): then im2col(X) tells the cases apart by X's shape.
STRIDED = _Geometry(ConvCase((1, 2, 3, 4), (2, 2, 2, 3), stride=(2, 2), padding=(1, 1)),
                    ConvCase((2, 1, 3, 5), (2, 1, 2, 2), stride=(2, 1), padding=(1, 0)))


# -- the page's notation ----------------------------------------------------------------
# N images, C/O input/output channels, H×W_in inputs, k_h×k_w kernels, H'×W' outputs;
# the arrays are stored as (N·C·H)×W_in, (O·C·k_h)×k_w and (N·O·H')×W' matrices.
N, C, O, H, W_IN, KH, KW, HO, WO = (size(n) for n in (
    "N", "C", "O", "H", "W_in", "k_h", "k_w", "H'", "W'"))
X, W, G = matrix("x", size("NCH"), W_IN), matrix("W", size("OCk_h"), KW), matrix(
    "G", size("NOH'"), WO)


class ConvOperator(Operator):
    """A named operation: finds its case (``geometry``, set per entry) by its argument's shape."""

    geometry: _Geometry
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
        return _g_mat(G, self.case(G))


class KernelMat(ConvOperator):
    """mat(W): the kernel as O × (C·k_h·k_w), a row per output channel."""
    key, name, shape = "W", r"\operatorname{mat}", property(lambda self: (O, C * KH * KW))

    def explicit(self, W):
        return _w_mat({"W": W}, self.case(W))


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


def operators(geometry: _Geometry, prefix: str) -> SimpleNamespace:
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
)
