r"""The :class:`Derivation` record and the small helpers entries are written with.

A derivation restates one netlib layer or loss in SymPy. It holds concrete,
non-square shapes (square shapes hide a missing transpose), builds a matrix of
symbols for every argument, and says what VJP we *claim* for each input. It
does not compute anything itself: :mod:`derivations.checks` differentiates
and compares.

Naming: an argument ``x`` of shape ``(2, 3)`` becomes the SymPy matrix of
real symbols :math:`x_{0,0}, \dots, x_{1,2}`; a 1-D argument ``b`` of shape
``(4,)`` becomes a ``1×4`` row; the upstream gradient is ``G`` with the
output's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

Shape = tuple[int, ...]
Shapes = Mapping[str, Shape]
Symbols = dict[str, sympy.Matrix]
StatedVJP = Callable[[sympy.Matrix, Symbols], sympy.Matrix]

DEFAULT_ASSUMPTIONS = {"real": True}


def matrix_shape(shape: Shape) -> tuple[int, int]:
    """The SymPy matrix shape holding an array of ``shape`` (1-D -> one row)."""
    if len(shape) == 1:
        return (1, shape[0])
    if len(shape) == 2:
        return (shape[0], shape[1])
    if len(shape) > 2:
        # Higher rank (NCHW images, (batch, seq, d) sequences): the leading axes
        # stacked as rows, the last as columns - the same row-major order.
        return (int(np.prod(shape[:-1])), shape[-1])
    raise ValueError(f"derivations: expected a shape of rank >= 1, got {shape!r}")


def symbol_matrix(name: str, shape: Shape, **assumptions) -> sympy.Matrix:
    """A matrix of fresh symbols ``name_{i,j}`` (``name_{j}`` for 1-D shapes).

    Examples
    --------
    >>> symbol_matrix("W", (2, 3))
    Matrix([
    [W_{0,0}, W_{0,1}, W_{0,2}],
    [W_{1,0}, W_{1,1}, W_{1,2}]])
    >>> symbol_matrix("b", (2,))
    Matrix([[b_{0}, b_{1}]])
    """
    assumptions = assumptions or DEFAULT_ASSUMPTIONS
    rows, cols = matrix_shape(shape)
    if len(shape) == 1:
        return sympy.Matrix(1, cols, lambda _, j: sympy.Symbol(f"{name}_{{{j}}}", **assumptions))
    return sympy.Matrix(rows, cols,
                        lambda i, j: sympy.Symbol(f"{name}_{{{i},{j}}}", **assumptions))


def elementwise(function: Callable[[sympy.Expr], sympy.Expr]) -> Callable[[Symbols], sympy.Matrix]:
    """A forward map ``y = f(x)`` applied entry by entry to ``symbols["x"]``."""

    def forward(symbols: Symbols) -> sympy.Matrix:
        return symbols["x"].applyfunc(function)

    forward.__doc__ = f"Entrywise {getattr(function, '__name__', 'function')} of x."
    return forward


def sigmoid(z: sympy.Expr) -> sympy.Expr:
    r"""The logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, from its definition."""
    return 1 / (1 + sympy.exp(-z))


def ones_row(n: int) -> sympy.Matrix:
    """A ``1×n`` row of ones (sums over rows: ``ones_row(N) * G``)."""
    return sympy.ones(1, n)


def uniform_sample(low: float = -2.0, high: float = 2.0, *, away_from_zero: float = 0.0,
                   ranges: Mapping[str, tuple[float, float]] | None = None):
    """A ``sample(rng, shapes)`` drawing every argument uniformly from ``[low, high]``.

    With ``away_from_zero = a > 0`` (kinks at 0, e.g. ReLU, where the
    derivative does not exist), each drawn value ``v`` is replaced by
    ``sign(v) (a + |v|)`` (sign +1 for ``v = 0``), so with ``low <= 0 <= high``
    the values fall in ``[-(a + |low|), -a] ∪ [a, a + high]`` (``±[a, a + 2]``
    for the defaults), not in ``[low, high]``. ``ranges`` overrides the
    interval per argument name (probabilities in (0, 1)...); arguments named
    there are drawn from their interval as is, without the push away from zero.
    """
    ranges = dict(ranges or {})

    def sample(rng: np.random.Generator, shapes: Shapes) -> dict[str, np.ndarray]:
        values = {}
        for name, shape in shapes.items():
            lo, hi = ranges.get(name, (low, high))
            value = rng.uniform(lo, hi, size=shape)
            if away_from_zero and name not in ranges:
                # Push each entry out of (-a, a) keeping its sign: the
                # derivative is undefined at the kink and fine everywhere else.
                value = np.where(value >= 0, 1, -1) * (away_from_zero + np.abs(value))
            values[name] = value
        return values

    return sample


@dataclass(frozen=True)
class Derivation:
    """One netlib layer or loss restated in SymPy, with its stated VJPs.

    See the package docstring (:mod:`derivations`) for every field. Entries
    are written in ``derivations/layers/`` and listed once in
    :mod:`derivations.registry`.
    """

    name: str
    title: str
    netlib_class: type
    definition_latex: str
    inputs: tuple[str, ...]
    shape_sets: tuple[dict[str, Shape], ...]
    forward: Callable[[Symbols], sympy.Matrix]
    stated: dict[str, StatedVJP]
    stated_latex: dict[str, str]
    build: Callable[[dict[str, np.ndarray]], Any]
    sample: Callable[[np.random.Generator, Shapes], dict[str, np.ndarray]] = field(
        default_factory=uniform_sample)
    kind: str = "layer"
    constants: tuple[str, ...] = ()
    fixed_constants: Callable[[Shapes], dict[str, sympy.Matrix]] | None = None
    forward_arg: str = "x"
    hyper: dict[str, Any] = field(default_factory=dict)
    assumptions: dict[str, dict[str, bool]] = field(default_factory=dict)
    run: Callable[[Any, dict[str, np.ndarray], Any], dict[str, np.ndarray]] | None = None
    netlib_target: Callable[[dict[str, np.ndarray]], Any] | None = None
    transpose_of: str | None = None
    transpose_map: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        who = f"Derivation {self.name!r}"
        if self.kind not in ("layer", "loss"):
            raise ValueError(f"{who}: expected kind 'layer' or 'loss', got {self.kind!r}")
        if len(self.shape_sets) < 2:
            raise ValueError(f"{who}: expected at least 2 shape sets, got {len(self.shape_sets)}")
        missing = set(self.inputs) - set(self.stated)
        if missing:
            raise ValueError(f"{who}: expected a stated VJP for every input, "
                             f"missing {sorted(missing)}")
        for shapes in self.shape_sets:
            absent = set(self.inputs) | set(self.constants)
            absent -= set(shapes)
            if absent:
                raise ValueError(f"{who}: expected a shape for {sorted(absent)} in "
                                 f"shape set {dict(shapes)}")

    # -- symbols ------------------------------------------------------------------
    def symbols(self, shapes: Shapes) -> Symbols:
        """Every input and constant as a SymPy matrix (fixed constants substituted)."""
        fixed = self.fixed_constants(shapes) if self.fixed_constants else {}
        result: Symbols = {}
        for name in (*self.inputs, *self.constants):
            if name in fixed:
                result[name] = sympy.Matrix(fixed[name])
            else:
                result[name] = symbol_matrix(name, shapes[name],
                                             **self.assumptions.get(name, DEFAULT_ASSUMPTIONS))
        return result

    def symbolic_constants(self) -> tuple[str, ...]:
        """Constants that stay symbols (not given concrete values)."""
        if self.fixed_constants is None:
            return self.constants
        fixed = self.fixed_constants(self.shape_sets[0])
        return tuple(name for name in self.constants if name not in fixed)

    def fixed_values(self, shapes: Shapes) -> dict[str, np.ndarray]:
        """Numeric values of the fixed constants, with the arguments' numpy shapes."""
        if self.fixed_constants is None:
            return {}
        return {name: np.array(value.tolist(), dtype=np.float64).reshape(shapes[name])
                for name, value in self.fixed_constants(shapes).items()}

    def output(self, shapes: Shapes) -> sympy.Matrix:
        """The forward map evaluated on the symbols of ``shapes``."""
        return self.forward(self.symbols(shapes))

    def output_shape(self, shapes: Shapes) -> tuple[int, int]:
        """Shape of the forward map's output (``(1, 1)`` for a loss)."""
        return self.output(shapes).shape

    def upstream_symbol(self, shapes: Shapes) -> sympy.Matrix:
        """The upstream gradient ``G``: symbols of the output's shape."""
        return symbol_matrix("G", self.output_shape(shapes))

    def shape_text(self, shapes: Shapes) -> str:
        """``"x 2×3, W 3×4, b 4"``: the shapes as the CLI table prints them."""
        return ", ".join(f"{name} {'×'.join(str(n) for n in shape)}"
                         for name, shape in shapes.items())

    def stated_vjp(self, wrt: str, G: sympy.Matrix, symbols: Symbols) -> sympy.Matrix:
        """The stated VJP for ``wrt`` made concrete: ``G`` and ``symbols`` substituted."""
        stated = self.stated[wrt](G, symbols)
        if not isinstance(stated, sympy.MatrixBase):
            stated = sympy.Matrix([[stated]])
        return sympy.Matrix(stated)

    def stated_text(self, wrt: str) -> str:
        """The stated VJP for ``wrt`` as LaTeX, for messages and pages."""
        return self.stated_latex[wrt]

    def describe(self) -> str:
        """``"dense (Dense (row layout))"`` for error messages."""
        return f"{self.name} ({self.title})"
