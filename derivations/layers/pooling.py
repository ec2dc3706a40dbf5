r"""Max and average pooling (NCHW, no padding), restated window by window.

Average pooling is linear: each output is :math:`1/(kh\,kw)` times the sum of
its window, so the VJP spreads :math:`g/(kh\,kw)` over the window (and adds
where windows overlap).

Max pooling is written from its definition with the tie rule built in: the
maximum of the window entries :math:`e_0, e_1, \dots` (row-major) is the
``Piecewise`` that returns :math:`e_m` for the first :math:`m` with
:math:`e_m \ge e_l` for every later :math:`l`. SymPy differentiates each
branch, so the Jacobian routes every output to its selected entry alone; the
stated VJP routes :math:`g` the same way. Samples are continuous (no ties);
the tie rule itself is tested in ``tests/test_new_layers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import Derivation, matrix_shape, uniform_sample
from derivations.layers.conv import array_entry, matrix_from_4d
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

AVG_CASES = _Cases(AvgPool2D,
                   PoolCase((1, 2, 4, 5), (2, 3), (2, 1)),
                   PoolCase((2, 1, 3, 4), (2, 2), (1, 1)))


def max_pool(symbols):
    case = MAX_CASES.of(symbols)
    x = array_entry(symbols["x"], case.x)
    return matrix_from_4d(case.out, lambda n, c, i, j: window_max(case.window(x, n, c, i, j)))


def avg_pool(symbols):
    case = AVG_CASES.of(symbols)
    x = array_entry(symbols["x"], case.x)
    size = case.kernel[0] * case.kernel[1]
    return matrix_from_4d(case.out, lambda n, c, i, j: sum(case.window(x, n, c, i, j)) / size)


def _route(G, symbols, cases: _Cases, share) -> sympy.Matrix:
    """Add ``share(window entries, g)[m]`` to the input position of entry ``m``, per window."""
    case = cases.of(symbols)
    x, g = array_entry(symbols["x"], case.x), array_entry(G, case.out)
    total: dict = {}
    n_out, c_out, oh, ow = case.out
    for n in range(n_out):
        for c in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    parts = share(case.window(x, n, c, i, j), g(n, c, i, j))
                    for position, part in zip(case.positions(n, c, i, j), parts, strict=True):
                        total[position] = total.get(position, 0) + part
    return matrix_from_4d(case.x, lambda *k: total.get(k, sympy.S.Zero))


def stated_max_pool(G, symbols):
    # g goes to the selected entry only: 1 for the first maximum, 0 elsewhere.
    def share(entries, g):
        conditions = first_max_conditions(entries)
        return [g * sympy.Piecewise(*((int(l == m), conditions[l]) for l in range(len(entries))))
                for m in range(len(entries))]

    return _route(G, symbols, MAX_CASES, share)


def stated_avg_pool(G, symbols):
    def share(entries, g):
        return [g / len(entries)] * len(entries)

    return _route(G, symbols, AVG_CASES, share)


MAX_POOL = Derivation(
    name="max_pool2d",
    title="MaxPool2D",
    netlib_class=MaxPool2D,
    definition_latex=r"y_{n,c,i,j} = \max_{u,v}\, x_{n,c,\,s_h i + u,\,s_w j + v}",
    inputs=("x",),
    shape_sets=tuple({"x": c.x} for c in MAX_CASES.cases),
    forward=max_pool,
    stated={"x": stated_max_pool},
    stated_latex={"x": r"\textstyle\sum_{\text{windows}} g_{n,c,i,j}\,"
                       r"[\,(h, w) = \operatorname{argmax}_\text{first}"
                       r"\text{ of window } (i, j)\,]"},
    build=MAX_CASES.build,
    run=MAX_CASES.run,
    sample=uniform_sample(),
    hyper=MAX_CASES.hyper(),
    notes="Not differentiable where a window has two equal maxima; netlib routes g "
          "to the first in row-major window order (a valid subgradient), and "
          "tests/test_new_layers.py checks that rule. Overlapping windows (stride 1) "
          "may select the same input twice: its gradient is the sum.",
)

AVG_POOL = Derivation(
    name="avg_pool2d",
    title="AvgPool2D",
    netlib_class=AvgPool2D,
    definition_latex=r"y_{n,c,i,j} = \frac{1}{kh\,kw}\sum_{u,v} x_{n,c,\,s_h i + u,\,s_w j + v}",
    inputs=("x",),
    shape_sets=tuple({"x": c.x} for c in AVG_CASES.cases),
    forward=avg_pool,
    stated={"x": stated_avg_pool},
    stated_latex={"x": r"\textstyle\sum_{\text{windows} \ni (h, w)} g_{n,c,i,j} / (kh\,kw)"},
    build=AVG_CASES.build,
    run=AVG_CASES.run,
    sample=uniform_sample(),
    hyper=AVG_CASES.hyper(),
)
