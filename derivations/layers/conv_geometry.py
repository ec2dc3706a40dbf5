r"""2-D convolution (NCHW) from its definition: the geometry, im2col, col2im, the flipped kernel.

The pieces :mod:`derivations.layers.conv` states the VJPs with: every function
here works on explicit SymPy matrices (rank-4 arrays with the leading axes
stacked as rows, see :func:`derivations.core.matrix_shape`), written from the
definition of a strided, padded correlation, never from netlib's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import matrix_shape
from derivations.notation import NotationError
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


def g_mat(G: sympy.Matrix, case: ConvCase) -> sympy.Matrix:
    """:math:`G_\\text{mat}`: rows ``(n, i, j)`` like :func:`im2col`, columns ``o``."""
    g = array_entry(G, case.out)
    n_out, o_out, oh, ow = case.out
    return sympy.Matrix(n_out * oh * ow, o_out,
                        lambda r, o: g(r // (oh * ow), o, (r // ow) % oh, r % ow))


def w_mat(symbols, case: ConvCase) -> sympy.Matrix:
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
    return col2im(g_mat(G, case) * w_mat(symbols, case), case)


class Geometry:
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


PLAIN = Geometry(ConvCase((1, 2, 4, 5), (3, 2, 2, 3)),
                  ConvCase((2, 1, 3, 4), (2, 1, 2, 2)))

# x (2, 1, 3, 5), not (2, 1, 3, 4): then im2col(X) tells the cases apart by X's shape.
STRIDED = Geometry(ConvCase((1, 2, 3, 4), (2, 2, 2, 3), stride=(2, 2), padding=(1, 1)),
                    ConvCase((2, 1, 3, 5), (2, 1, 2, 2), stride=(2, 1), padding=(1, 0)))
