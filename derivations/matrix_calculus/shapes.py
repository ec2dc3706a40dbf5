"""Shape inference for the matrix language.

Every dimension is a :class:`~derivations.matrix_calculus.dims.Dim`, an
integer times a product of named sizes (``m``, ``n`` or, for sizes nobody
named, ``rows(X)``/``cols(X)``).  Inference walks the tree and unifies
dimensions the way a type checker unifies types: ``A @ B`` equates the
columns of ``A`` with the rows of ``B``; ``tr``, ``det`` and ``inv`` make their
argument square; ``* / + -`` equate shapes, except that a dimension known to
be 1 broadcasts (numpy's rule on 2-D arrays).  A size that no constraint
fixes stays symbolic: the answer holds for every value of it, and the
confirmation picks random values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .dims import SCALAR, Dim, dim_product
from .errors import ShapeError
from .expr import Binary, Name, Neg, Node, Num, Transpose, constant_kind, to_text
from .functions import FUNCTIONS

__all__ = [
    "MAX_CONCRETE_DIM",
    "ShapeEnv",
    "describe",
    "infer",
    "parse_shape_spec",
    "sample_sizes",
]

#: The largest concrete size accepted: the explicit Jacobian is built on
#: concrete SymPy matrices, whose cost grows fast with the size.
MAX_CONCRETE_DIM = 8


@dataclass
class ShapeEnv:
    """Named sizes, what they are bound to, and each variable's shape."""

    bindings: dict = field(default_factory=dict)  # size name -> Dim
    variables: dict = field(default_factory=dict)  # variable name -> (Dim, Dim)
    declared: set = field(default_factory=set)  # variables given a shape by the user

    def resolve(self, dim: Dim) -> Dim:
        """Substitute bound sizes until only free ones remain."""
        out = Dim(dim.coef)
        for name in dim.names:
            bound = self.bindings.get(name)
            factor = self.resolve(bound) if bound is not None else Dim(1, (name,))
            out = dim_product(out, factor)
        return out

    def shape_of(self, name: str) -> tuple:
        rows, cols = self.variables[name]
        return self.resolve(rows), self.resolve(cols)

    def unify(self, a: Dim, b: Dim, why: str) -> Dim:
        a, b = self.resolve(a), self.resolve(b)
        if a == b:
            return a
        # Bind a size nobody named (rows(X)) before one the user named (n), so
        # that the shapes are reported in the user's names; among those, the
        # later one (the right operand's), so that earlier names survive.
        pairs = sorted(((b, a), (a, b)), key=lambda pair: "(" not in "".join(pair[0].names))
        for free, other in pairs:
            if free.coef == 1 and len(free.names) == 1 and free.names[0] not in other.names:
                self.bindings[free.names[0]] = other
                return other
        if not a.names and not b.names:
            raise ShapeError(f"derive: shape mismatch in {why}: size {a} against size {b}")
        raise ShapeError(
            f"derive: cannot infer the sizes in {why}: {a} must equal {b}; "
            "give the shapes with --shape NAME=RxC"
        )

    def free_sizes(self, shapes) -> list[str]:
        """The size names still free in ``shapes`` (an iterable of shapes)."""
        seen: list[str] = []
        for shape in shapes:
            for dim in shape:
                for name in self.resolve(dim).names:
                    if name not in seen:
                        seen.append(name)
        return seen

    def concrete(self, shape: tuple, sizes: dict) -> tuple[int, int]:
        """``shape`` with every free size replaced by its value in ``sizes``."""
        out = []
        for dim in shape:
            dim = self.resolve(dim)
            out.append(int(dim.coef * math.prod(sizes[n] for n in dim.names)))
        return tuple(out)


_SPEC = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_][A-Za-z0-9_]*?|\d+)\s*[x×,]\s*"
    r"([A-Za-z_][A-Za-z0-9_]*|\d+)\s*$"
)
_SCALAR_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(scalar|1)\s*$")


def parse_shape_spec(spec: str) -> tuple[str, tuple[Dim, Dim]]:
    """Read ``NAME=RxC`` (``R``, ``C`` integers ≤ 8 or size names) or ``NAME=scalar``.

    >>> name, (r, c) = parse_shape_spec("x=nx1")
    >>> name, str(r), str(c)
    ('x', 'n', '1')
    """
    scalar = _SCALAR_SPEC.match(spec)
    if scalar:
        return scalar.group(1), SCALAR
    match = _SPEC.match(spec)
    if not match:
        raise ShapeError(
            f"derive: --shape expects NAME=RxC (e.g. W=3x4, X=mxn, x=n,1) or NAME=scalar, "
            f"got {spec!r}"
        )
    dims = []
    for part in match.group(2, 3):
        if part.isdigit():
            size = int(part)
            if not 1 <= size <= MAX_CONCRETE_DIM:
                raise ShapeError(
                    f"derive: --shape {spec!r}: concrete sizes must be between 1 and "
                    f"{MAX_CONCRETE_DIM} (the answer is checked on explicit matrices); "
                    f"use a size name such as n for a size of {size}"
                )
            dims.append(Dim(size))
        else:
            dims.append(Dim(1, (part,)))
    return match.group(1), tuple(dims)


def _broadcast(env: ShapeEnv, left: tuple, right: tuple, why: str) -> tuple:
    out = []
    for a, b in zip(left, right, strict=True):
        a, b = env.resolve(a), env.resolve(b)
        if a == b:
            out.append(a)
        elif a.is_one:
            out.append(b)
        elif b.is_one:
            out.append(a)
        else:
            out.append(env.unify(a, b, why))
    return tuple(out)


def infer(node: Node, env: ShapeEnv, shapes: dict | None = None) -> tuple:
    """Infer the shape of ``node`` (and, into ``shapes``, of every subtree by id).

    Unknown variables get fresh sizes ``rows(X)``, ``cols(X)``; ``env`` is
    updated in place with what the expression implies.
    """
    shapes = {} if shapes is None else shapes

    def walk(n: Node) -> tuple:
        if isinstance(n, Num):
            shape = SCALAR
        elif isinstance(n, Name):
            if n.id not in env.variables:
                rows = Dim(1, (f"rows({n.id})",))
                # eye is square; a user's name is rows(X)×cols(X) until combined
                cols = rows if constant_kind(n.id) == "eye" else Dim(1, (f"cols({n.id})",))
                env.variables[n.id] = (rows, cols)
            shape = env.variables[n.id]
        elif isinstance(n, Neg):
            shape = walk(n.arg)
        elif isinstance(n, Transpose):
            rows, cols = walk(n.arg)
            shape = (cols, rows)
        elif isinstance(n, Binary):
            left, right = walk(n.left), walk(n.right)
            why = f"'{to_text(n)}'"
            if n.op == "**":
                shape = left  # the exponent is a number
            elif n.op == "@":
                env.unify(left[1], right[0],
                          why + " (columns of the left factor, rows of the right)")
                shape = (left[0], right[1])
            else:
                shape = _broadcast(env, left, right, why)
        else:
            spec = FUNCTIONS[n.fn]
            shape = spec.shape_rule(env, [walk(a) for a in n.args], f"'{to_text(n)}'")
        shape = (env.resolve(shape[0]), env.resolve(shape[1]))
        shapes[id(n)] = shape
        return shape

    walk(node)
    # Bindings made late (by an outer node) refine shapes recorded early.
    for key, shape in shapes.items():
        shapes[key] = (env.resolve(shape[0]), env.resolve(shape[1]))
    return shapes[id(node)]


def sample_sizes(free: list[str], rng, avoid: dict | None = None, wider: int = 0) -> dict:
    """Random values for the free sizes, all distinct, so that no two different
    sizes coincide (a square shape hides a missing transpose).

    The values are a random assignment of ``2..k+1`` to the ``k`` free sizes
    (of ``2..3`` when ``k`` is 1): as small as distinctness allows, because
    the explicit Jacobian is built on explicit matrices whose cost grows fast.
    With ``avoid`` (an earlier draw) and at least one free size, the result
    differs from ``avoid``, so that the two confirmations use two different
    sets of sizes.
    """
    pool = list(range(2, max(3, len(free) + 1) + 1 + wider))
    values = [int(v) for v in rng.choice(pool, size=len(free), replace=False)]
    if avoid is not None and free and values == [avoid[name] for name in free]:
        # Shift every value to the next one in the pool (cyclically): still
        # distinct, and no size keeps its value.
        values = [pool[(pool.index(v) + 1) % len(pool)] for v in values]
    return dict(zip(free, values, strict=True))


def describe(shape: tuple) -> str:
    """``'m×n'`` for a shape of two Dims."""
    return f"{shape[0]}×{shape[1]}"
