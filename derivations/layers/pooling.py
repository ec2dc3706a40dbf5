r"""Max and average pooling (NCHW, no padding), restated window by window.

Average pooling is linear: each output is :math:`1/(k_h k_w)` times the sum of
its window, so the VJP spreads :math:`g/(k_h k_w)` over the window (and adds
where windows overlap): :math:`\tfrac{1}{k_h k_w}\operatorname{spread}(G)`
(:class:`SpreadMean`).

Max pooling is written from its definition with the tie rule built in: the
maximum of the window entries :math:`e_0, e_1, \dots` (row-major) is the
``Piecewise`` that returns :math:`e_m` for the first :math:`m` with
:math:`e_m \ge e_l` for every later :math:`l`. SymPy differentiates each
branch, so the Jacobian routes every output to its selected entry alone; the
stated VJP, :math:`\operatorname{route}_{\max}(G, X)` (:class:`RouteToMax`), routes
:math:`g` the same way. Samples are continuous (no ties); the tie rule itself
is tested in ``tests/test_new_layers.py``.

The operators find their case by the shape of an argument (``x`` for max, ``G``
for average pooling), so the cases of an entry differ in that shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import Derivation, Mutant, matrix_shape, uniform_sample
from derivations.layers.conv_geometry import array_entry, matrix_from_4d
from derivations.notation import NotationError, Operator, matrix, size
from netlib import AvgPool2D, MaxPool2D


@dataclass(frozen=True)
class PoolCase:
    """Input ``(N, C, H, W)``, window ``(kh, kw)``, stride ``(s_h, s_w)``."""

    x: tuple[int, int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]

    @property
    def out(self) -> tuple[int, int, int, int]:
        n, c, h, w = self.x
        (kh, kw), (sh, sw) = self.kernel, self.stride
        return (n, c, (h - kh) // sh + 1, (w - kw) // sw + 1)

    def window(self, x, n, c, i, j) -> list:
        """The window's entries in row-major order ``(u, v)``."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        return [x(n, c, sh * i + u, sw * j + v) for u in range(kh) for v in range(kw)]

    def positions(self, n, c, i, j) -> list:
        """Input positions of the window's entries, in the same order."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        return [(n, c, sh * i + u, sw * j + v) for u in range(kh) for v in range(kw)]


def first_max_conditions(entries: list) -> list:
    """Condition for selecting entry ``m`` in a Piecewise tried in order: ``e_m >= every later``.

    Tried in order, entry ``m`` is reached only when no earlier entry was
    selected, so the first maximal entry wins a tie.
    """
    return [sympy.And(*(entries[m] >= later for later in entries[m + 1:]))
            for m in range(len(entries))]


def window_max(entries: list) -> sympy.Expr:
    """The maximum, as ``Piecewise((e_0, c_0), (e_1, c_1), ...)``."""
    conditions = first_max_conditions(entries)
    return sympy.Piecewise(*zip(entries, conditions, strict=True))


class _Cases:
    """Cases looked up by the matrix shape of ``x`` (symbols) or its full shape (values)."""

    def __init__(self, cls, *cases: PoolCase) -> None:
        self.cls, self.cases = cls, cases
        self.by_matrix = {matrix_shape(c.x): c for c in cases}
        self.by_x = {c.x: c for c in cases}

    def of(self, symbols) -> PoolCase:
        return self.by_matrix[symbols["x"].shape]

    def case(self, name: str, shape) -> PoolCase:
        """The case whose ``name`` ("x" or "G") has this matrix shape."""
        found = [c for c in self.cases
                 if matrix_shape(c.x if name == "x" else c.out) == tuple(shape)]
        if len(found) != 1:
            raise NotationError(f"{len(found)} pooling cases have {name} of shape {shape}")
        return found[0]

    def build(self, values):
        case = self.by_x.get(tuple(np.shape(values["x"])), self.cases[0])
        return self.cls(case.kernel, case.stride)

    @staticmethod
    def run(layer, values, g):
        y = layer.forward(values["x"])
        return {"x": layer.backward(np.reshape(g, y.shape))}

    def hyper(self) -> dict:
        """``kernel, stride`` of every case, written from the cases themselves."""
        return {"kernel, stride": "; ".join(
            f"{c.kernel}, {c.stride} for {'×'.join(map(str, c.x))}" for c in self.cases)}


# Non-square windows and strides in one case each: a kh/kw or s_h/s_w swap
# in netlib then reads other entries (or fails on the output shape).
MAX_CASES = _Cases(MaxPool2D,
                   PoolCase((1, 2, 4, 5), (2, 3), (2, 1)),     # overlapping along the width
                   PoolCase((2, 1, 3, 4), (2, 2), (1, 1)))     # overlapping windows

# The second input is 3×5: then G's matrix shape (4×4, not 4×3) tells the cases apart.
AVG_CASES = _Cases(AvgPool2D,
                   PoolCase((1, 2, 4, 5), (2, 3), (2, 1)),
                   PoolCase((2, 1, 3, 5), (2, 2), (1, 1)))


def max_pool(symbols):
    case = MAX_CASES.of(symbols)
    x = array_entry(symbols["x"], case.x)
    return matrix_from_4d(case.out, lambda n, c, i, j: window_max(case.window(x, n, c, i, j)))


def avg_pool(symbols):
    case = AVG_CASES.of(symbols)
    x = array_entry(symbols["x"], case.x)
    size = case.kernel[0] * case.kernel[1]
    return matrix_from_4d(case.out, lambda n, c, i, j: sum(case.window(x, n, c, i, j)) / size)


def _route(G, x, case: PoolCase, share) -> sympy.Matrix:
    """Add ``share(window entries, g)[m]`` to the input position of entry ``m``, per window."""
    g, total = array_entry(G, case.out), {}
    n_out, c_out, oh, ow = case.out
    for n in range(n_out):
        for c in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    parts = share(case.window(x, n, c, i, j), g(n, c, i, j))
                    for position, part in zip(case.positions(n, c, i, j), parts, strict=True):
                        total[position] = total.get(position, 0) + part
    return matrix_from_4d(case.x, lambda *k: total.get(k, sympy.S.Zero))


def _to_first_max(entries, g):
    # g goes to the selected entry only: 1 for the first maximum, 0 elsewhere.
    # Unevaluated, like the Jacobian's (see derivations.verify.differentiate):
    # the conditions stay those of window_max instead of being re-canonicalised.
    conditions = first_max_conditions(entries)
    return [g * sympy.Piecewise(*((int(l == m), conditions[l]) for l in range(len(entries))),
                                evaluate=False)
            for m in range(len(entries))]


# -- the page's notation ----------------------------------------------------------------
# x (N, C, H, W_in) is stored as the (N·C·H)×W_in matrix, G (N, C, H', W') as (N·C·H')×W'.
X = matrix("x", size("NCH"), size("W_in"))
G = matrix("G", size("NCH'"), size("W'"))


class RouteToMax(Operator):
    """route(G, X): each g_{n,c,i,j} added where window (i, j) of X has its first maximum."""

    shape = property(lambda self: self.args[1].shape)

    def explicit(self, G, X):
        case = MAX_CASES.case("x", X.shape)
        return _route(G, array_entry(X, case.x), case, _to_first_max)

    def _latex(self, printer):
        G, X = (printer._print(a) for a in self.args)
        return rf"\operatorname{{route}}_{{\max}}({G},\, {X})"


class SpreadMean(Operator):
    """spread(G)/(k_h k_w): each g_{n,c,i,j}/(k_h k_w) added over window (i, j)."""

    shape = property(lambda self: X.shape)

    def explicit(self, G):
        case = AVG_CASES.case("G", G.shape)
        return _route(G, lambda *position: 0, case,
                      lambda entries, g: [g / len(entries)] * len(entries))

    def _latex(self, printer):
        return rf"\tfrac{{1}}{{k_h k_w}}\operatorname{{spread}}({printer._print(self.args[0])})"


class MaxPool2DArgmaxColumnMajor(MaxPool2D):
    def _backward(self, g):
        kh, kw = self.kernel_size
        offsets = self._offsets
        # The selected offset k unravelled column-major, (k % kh, k // kh): the
        # gradient lands on the transposed position of the window.
        self._offsets = [(k % kh, k // kh) for k in range(kh * kw)]
        try:
            return super()._backward(g)
        finally:
            self._offsets = offsets


MAX_POOL = Derivation(
    name="max_pool2d",
    title="MaxPool2D",
    netlib_class=MaxPool2D,
    definition_latex=r"y_{n,c,i,j} = \max_{u,v}\, x_{n,c,\,s_h i + u,\,s_w j + v}",
    inputs=("x",),
    shape_sets=tuple({"x": c.x} for c in MAX_CASES.cases),
    forward=max_pool,
    stated={"x": RouteToMax(G, X)},
    build=MAX_CASES.build,
    run=MAX_CASES.run,
    sample=uniform_sample(),
    hyper=MAX_CASES.hyper(),
    notes="route_max(G, X) adds each g_{n,c,i,j} to the input position of the first "
          "maximum (in row-major window order) of window (i, j) of X. Max pooling is not "
          "differentiable where a window has two equal maxima; netlib routes g to the "
          "first in row-major window order (a valid subgradient), and "
          "tests/test_new_layers.py checks that rule. Overlapping windows (stride 1) "
          "may select the same input twice: its gradient is the sum.",
    mutants=(
        Mutant("max_pool2d_argmax_column_major",
               'the selected window offset unravelled column-major',
               'g goes to the transposed position in the window',
               MaxPool2DArgmaxColumnMajor),
    ),
)

class AvgPool2DNotDivided(AvgPool2D):
    def _backward(self, g):
        return super()._backward(g) * (self.kernel_size[0] * self.kernel_size[1])


AVG_POOL = Derivation(
    name="avg_pool2d",
    title="AvgPool2D",
    netlib_class=AvgPool2D,
    definition_latex=r"y_{n,c,i,j} = \frac{1}{k_h k_w}\sum_{u,v} x_{n,c,\,s_h i + u,\,s_w j + v}",
    inputs=("x",),
    shape_sets=tuple({"x": c.x} for c in AVG_CASES.cases),
    forward=avg_pool,
    stated={"x": SpreadMean(G)},
    build=AVG_CASES.build,
    run=AVG_CASES.run,
    sample=uniform_sample(),
    hyper=AVG_CASES.hyper(),
    notes="spread(G) adds each g_{n,c,i,j} to every input position of window (i, j) "
          "(k_h × k_w of them), summing where windows overlap.",
    mutants=(
        Mutant("avg_pool2d_not_divided",
               'g copied to the window without 1/(kh kw)',
               'kh·kw times the truth',
               AvgPool2DNotDivided),
    ),
)
