r"""The :class:`Derivation` record and the small helpers entries are written with.

A derivation restates one netlib layer or loss in SymPy. It holds concrete,
non-square shapes (square shapes hide a missing transpose), builds a matrix of
symbols for every argument, and says what VJP we *claim* for each input. It
does not compute anything itself: :mod:`derivations.verify` differentiates
and compares.

Naming: an argument ``x`` of shape ``(2, 3)`` becomes the SymPy matrix of
real symbols :math:`x_{0,0}, \dots, x_{1,2}`; a 1-D argument ``b`` of shape
``(4,)`` becomes a ``1×4`` row; the upstream gradient is ``G`` with the
output's shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from derivations.notation import (
    DefinedFunction,
    concrete,
    entrywise,
    is_expression,
    matrix,
    size,
)

Shape = tuple[int, ...]
Shapes = Mapping[str, Shape]
Symbols = dict[str, sympy.Matrix]
#: A stated VJP: one SymPy expression in the page's notation (see
#: :mod:`derivations.notation`), e.g. ``G * W.T`` over matrix symbols.
StatedVJP = sympy.Basic
#: A forward map: a matrix expression in the page's notation (then the site
#: renders the definition from it), or ``forward(symbols) -> sympy.Matrix``
#: for maps with no plain matrix form (convolution, attention).
Forward = sympy.Basic | Callable[[Symbols], sympy.Matrix]

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


#: The batch size and the feature count of an entrywise layer's input.
N, F = size("N"), size("F")
#: The input of an entrywise layer, ``x`` of shape ``(N, F)`` (shown as :math:`X`),
#: and the upstream gradient of the same shape.
X_ENTRYWISE, G_ENTRYWISE = matrix("x", N, F), matrix("G", N, F)


def elementwise(function: Callable[[sympy.Expr], sympy.Expr]) -> sympy.MatrixExpr:
    """The forward map ``Y = f(X)``, ``f`` applied entry by entry to the input ``x``."""
    return entrywise(function, X_ENTRYWISE)


def times_derivative(derivative: Callable[[sympy.Expr], sympy.Expr]) -> sympy.MatrixExpr:
    """The stated VJP ``G ⊙ f'(X)`` of an entrywise layer, ``f'`` a scalar function."""
    return sympy.HadamardProduct(G_ENTRYWISE, entrywise(derivative, X_ENTRYWISE))


def sigmoid(z: sympy.Expr) -> sympy.Expr:
    r"""The logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, from its definition."""
    return 1 / (1 + sympy.exp(-z))


def logistic(a: np.ndarray) -> np.ndarray:
    """σ in numpy, for the mutants' wrong backward passes (never for a check's reference)."""
    return 1 / (1 + np.exp(-a))


class Sigma(DefinedFunction):
    r""":math:`\sigma(z)`, shown by name and made concrete as :func:`sigmoid`."""

    latex_name = r"\sigma"

    @classmethod
    def definition(cls, z):
        return sigmoid(z)


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
class Mutant:
    """One wrong backward pass that people really write, kept beside its entry.

    The checks must reject it (the mutation catalogue, :mod:`derivations.mutants`).

    Attributes
    ----------
    name : str
        Unique key, ``<entry>_<mistake>``.
    description : str
        The mistake, one line.
    symptom : str
        What goes wrong in the gradient, one line.
    wrong : type
        Subclass of the entry's netlib class with the wrong backward.
    slips_square_ones : bool
        Record: does it pass a finite-difference check run with every axis
        of the same size and an all-ones upstream gradient? (Confirmed by
        ``tests/test_mutants.py``.)
    entry : str
        The registry entry it mutates; set by the :class:`Derivation` that lists it.
    """

    name: str
    description: str
    symptom: str
    wrong: type
    slips_square_ones: bool = False
    entry: str = ""

    @property
    def derivation(self) -> Derivation:
        from derivations.registry import get

        return get(self.entry)

    def make(self, values: dict):
        """The entry's layer built from ``values``, with this wrong backward."""
        layer = self.derivation.build(values)
        if not isinstance(layer, self.wrong.__mro__[1]):
            raise TypeError(f"mutant {self.name}: {self.wrong.__name__} must subclass the "
                            f"class entry {self.entry!r} builds, {type(layer).__name__}")
        layer.__class__ = self.wrong      # same attributes, wrong backward
        return layer

    def as_derivation(self) -> Derivation:
        """The entry with ``build`` replaced: what the registry checks see."""
        return dataclasses.replace(self.derivation, build=self.make)


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
    inputs: tuple[str, ...]
    shape_sets: tuple[dict[str, Shape], ...]
    forward: Forward
    stated: dict[str, StatedVJP]
    build: Callable[[dict[str, np.ndarray]], Any]
    #: The definition in words and indices, for forward maps that are not a
    #: matrix expression (those are rendered from ``forward`` itself).
    definition_latex: str = ""
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
    #: Wrong backward passes the checks must reject (at least one per entry).
    mutants: tuple[Mutant, ...] = ()

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
        for wrt, stated in self.stated.items():
            if not is_expression(stated):
                raise TypeError(f"{who}: expected the stated VJP for {wrt} to be a SymPy "
                                f"expression in the page's notation, got "
                                f"{type(stated).__name__}")
        for mutant in self.mutants:
            if not issubclass(mutant.wrong, self.netlib_class):
                raise TypeError(f"{who}: mutant {mutant.name!r} must subclass "
                                f"{self.netlib_class.__name__}, got {mutant.wrong.__name__}")
        # Each mutant learns its entry here, so that it is written once, beside it.
        object.__setattr__(self, "mutants", tuple(
            dataclasses.replace(m, entry=self.name) for m in self.mutants))
        if not is_expression(self.forward) and not self.definition_latex:
            raise ValueError(f"{who}: a forward map that is not a matrix expression "
                             f"needs a definition_latex")
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
        return self.forward_of(self.symbols(shapes))

    def forward_of(self, symbols: Symbols) -> sympy.Matrix:
        """The forward map on given matrices (symbols or numbers) of every argument."""
        if is_expression(self.forward):
            return concrete(self.forward, symbols)
        return self.forward(symbols)

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
        return concrete(self.stated[wrt], {**symbols, "G": G})

    def stated_text(self, wrt: str) -> str:
        r"""The stated VJP for ``wrt`` as LaTeX (``G W^\top``): the printer's output."""
        from derivations.printing import latex

        return latex(self.stated[wrt])

    def describe(self) -> str:
        """``"dense (Dense (row layout))"`` for error messages."""
        return f"{self.name} ({self.title})"
