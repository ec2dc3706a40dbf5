"""Algebra for the simplest form of an answer: like terms, powers, symmetry.

Value-preserving rewrites used by ``simplify.simplify``:

- :func:`collect_terms`: a sum is a list of ``coefficient · term``; equal
  terms are added (``A @ x + A @ x`` is ``2 * (A @ x)``; ``y - y`` is ``0``),
  and terms with one coefficient that share their outer factors meet
  (``P @ A @ Q + P @ B @ Q`` is ``P @ (A + B) @ Q``);
- :func:`power_product`: ``x * x`` is ``x ** 2`` and ``x ** p * x`` is
  ``x ** (p + 1)`` (elementwise); ``X @ X`` is ``matrix_power(X, 2)`` and
  ``inv(matrix_power(X, 3)).T @ X.T`` is ``inv(matrix_power(X, 2)).T``
  (powers of one matrix commute, an inverse being a negative power);
- :func:`is_symmetric`: forms that equal their transpose whatever the
  variables are (``Xᵀ X``, ``X Xᵀ``, ``Xᵀ (D + Dᵀ) X``, their inverses and
  powers, ``A + Aᵀ``),
  so that ``(XᵀX)⁻ᵀ`` is written ``(XᵀX)⁻¹`` and like terms meet;
- :func:`cancel_factors`: in a product of elementwise factors and divisors,
  ``sign(y) * y`` is ``abs(y)`` and a factor that also divides cancels
  (``2 * n * x / n`` is ``2 * x``, ``sign(d) * d / abs(d)`` is ``1``);
- :func:`positive_almost_everywhere`: numbers whose sign is 1 wherever the
  answer is differentiable (``x.T @ x``, ``exp(s)``, ``norm2(y)``);
- :func:`split_inverses`: ``inv(P @ Q)`` as ``inv(Q) @ inv(P)`` for square
  factors, an alternative form the simplifier keeps when it prints shorter.

Every answer they touch is still confirmed against the explicit Jacobian.
"""

from __future__ import annotations

from .expr import Binary, Call, Name, Neg, Node, Num, Transpose, constant_kind

__all__ = [
    "cancel_factors",
    "chain_factors",
    "collect_terms",
    "is_symmetric",
    "positive_almost_everywhere",
    "power_product",
    "split_inverses",
]


def _split(node: Node) -> tuple[float, Node]:
    """``node`` as ``coefficient · core`` (numbers pulled out of products)."""
    if isinstance(node, Neg):
        c, core = _split(node.arg)
        return -c, core
    if isinstance(node, Binary) and node.op == "*":
        if isinstance(node.left, Num):
            c, core = _split(node.right)
            return node.left.value * c, core
        if isinstance(node.right, Num):
            c, core = _split(node.left)
            return node.right.value * c, core
    if isinstance(node, Num):
        return node.value, Num(1.0)
    return 1.0, node


def _terms(node: Node, sign: float, out: list) -> None:
    if isinstance(node, Binary) and node.op in "+-":
        _terms(node.left, sign, out)
        _terms(node.right, sign if node.op == "+" else -sign, out)
    elif isinstance(node, Neg):
        _terms(node.arg, -sign, out)
    else:
        c, core = _split(node)
        out.append((sign * c, core))


def collect_terms(node: Node) -> Node:
    """Add equal terms of a sum; keep the order of first appearance.

    >>> from derivations.matrix_calculus.parser import parse
    >>> from derivations.matrix_calculus.expr import to_text
    >>> to_text(collect_terms(parse("A @ x + B - 3 * (A @ x) + B")))
    '-2 * (A @ x) + 2 * B'
    """
    terms: list = []
    _terms(node, 1.0, terms)
    combined: dict = {}
    for c, core in terms:
        combined[core] = combined.get(core, 0.0) + c
    combined = _common_factors(combined)
    result = None
    for core, c in combined.items():
        if c == 0:
            continue
        if core == Num(1.0):
            term, negative = Num(abs(c)), c < 0
        else:
            term = core if abs(c) == 1 else Binary("*", Num(abs(c)), core)
            negative = c < 0
        if result is None and negative:
            result = Num(c) if isinstance(term, Num) else (
                Neg(core) if c == -1 else Binary("*", Num(c), core))
        elif result is None:
            result = term
        else:
            result = Binary("-" if negative else "+", result, term)
    return Num(0.0) if result is None else result


def _common_factors(combined: dict) -> dict:
    """Terms with one coefficient whose products share their outer factors,
    merged: ``P @ A @ Q + P @ B @ Q`` is ``P @ (A + B) @ Q``."""
    items = list(combined.items())
    i = 0
    while i < len(items):
        for j in range(i + 1, len(items)):
            (first, c), (second, d) = items[i], items[j]
            merged = (_merge_chains(chain_factors(first), chain_factors(second))
                      if c == d != 0 else None)
            if merged is not None:
                items[i] = (merged, c)
                del items[j]
                break
        else:
            i += 1
    return dict(items)


def _merge_chains(one: list[Node], two: list[Node]) -> Node | None:
    """``prefix @ (middle_1 + middle_2) @ suffix`` from two products' factors,
    or ``None`` when they share neither their first nor their last factor.
    Each middle keeps at least one factor."""
    start = 0
    while start < min(len(one), len(two)) - 1 and one[start] == two[start]:
        start += 1
    end = 0
    while (end < min(len(one), len(two)) - 1 - start
           and one[len(one) - 1 - end] == two[len(two) - 1 - end]):
        end += 1
    if start + end == 0:
        return None
    middle = Binary("+", _product(one[start:len(one) - end]), _product(two[start:len(two) - end]))
    return _product([*one[:start], middle, *one[len(one) - end:]])


def _product(factors: list[Node]) -> Node:
    result = factors[0]
    for factor in factors[1:]:
        result = Binary("@", result, factor)
    return result


def _base_power(node: Node, op: str) -> tuple[Node, int | float]:
    """``node`` as ``base ** p``: elementwise for ``*``; for ``@`` a matrix
    power, where an inverse is a negative power (``inv(X).T`` is ``X.T`` to
    the power -1)."""
    if op == "*" and isinstance(node, Binary) and node.op == "**":
        return node.left, node.right.value
    if op != "@":
        return node, 1
    if isinstance(node, Transpose) and isinstance(node.arg, Call) and node.arg.fn == "inv":
        base, p = _base_power(node.arg.args[0], op)
        return Transpose(base), -p
    if isinstance(node, Call) and node.fn == "inv":
        base, p = _base_power(node.args[0], op)
        return base, -p
    if isinstance(node, Call) and node.fn == "matrix_power":
        base, p = _base_power(node.args[0], op)  # matrix_power(inv(X), 2) is X to the -2
        return base, p * int(node.args[1].value)
    return node, 1


def _matrix_power(base: Node, p: int) -> Node:
    """``base`` to the integer power ``p`` ≠ 0, written the way the
    simplifier writes it: ``matrix_power(X.T, 2)``, ``inv(matrix_power(X, 2)).T``."""
    if p > 0:
        return base if p == 1 else Call("matrix_power", (base, Num(float(p))))
    transposed = isinstance(base, Transpose)
    inner = base.arg if transposed else base
    if p < -1:
        inner = Call("matrix_power", (inner, Num(float(-p))))
    inverse = Call("inv", (inner,))
    return Transpose(inverse) if transposed else inverse


def power_product(op: str, a: Node, b: Node) -> Node | None:
    """``a op b`` as one power of a common base, or ``None``.

    ``*`` gives an elementwise power, ``@`` a matrix power; numbers and
    scalar constants are left alone.
    """
    base_a, p = _base_power(a, op)
    base_b, q = _base_power(b, op)
    if base_a != base_b or isinstance(base_a, Num):
        return None
    if isinstance(base_a, Name) and constant_kind(base_a.id):
        return None
    if op == "*":
        return Binary("**", base_a, Num(float(p + q)))
    if p + q == 0:
        return None  # inv(X) @ X is the identity: the caller writes it
    return _matrix_power(base_a, p + q)


def is_symmetric(node: Node) -> bool:
    """Whether ``node`` equals its transpose for every value of its variables.

    >>> from derivations.matrix_calculus.parser import parse
    >>> is_symmetric(parse("inv(X.T @ X)")), is_symmetric(parse("X @ X"))
    (True, False)
    >>> is_symmetric(parse("X.T @ (D + D.T) @ X")), is_symmetric(parse("X.T @ D @ X"))
    (True, False)
    """
    if isinstance(node, Name):
        return constant_kind(node.id) == "eye"
    if isinstance(node, Num):
        return True
    if isinstance(node, Neg):
        return is_symmetric(node.arg)
    if isinstance(node, Call):
        if node.fn == "eye_like":
            return True
        return node.fn in ("inv", "adj", "matrix_power") and is_symmetric(node.args[0])
    if isinstance(node, Binary):
        if node.op == "@":
            return _mirrored_chain(chain_factors(node))
        if node.op in "+-":
            both = is_symmetric(node.left) and is_symmetric(node.right)
            mirrored = node.op == "+" and (node.left == Transpose(node.right)
                                           or node.right == Transpose(node.left))
            return both or mirrored
        if node.op == "*" and isinstance(node.left, Num):
            return is_symmetric(node.right)
    return False


def chain_factors(node: Node) -> list[Node]:
    """The factors of a matrix product ``A @ B @ C``, left to right."""
    if isinstance(node, Binary) and node.op == "@":
        return chain_factors(node.left) + chain_factors(node.right)
    return [node]


def _mirrored_chain(factors: list[Node]) -> bool:
    """Whether ``f1 @ ... @ fk`` is symmetric because it reads the same
    transposed: ``f_i = f_{k+1-i}ᵀ``, and a middle factor symmetric itself
    (``Xᵀ X``, ``Xᵀ (D + Dᵀ) X``, ``A B Bᵀ Aᵀ``)."""
    k = len(factors)
    for i in range(k // 2):
        left, right = factors[i], factors[k - 1 - i]
        if not (left == Transpose(right) or right == Transpose(left)):
            return False
    return k % 2 == 0 or is_symmetric(factors[k // 2])


def _factors(node: Node, divides: bool, out: tuple[list, list]) -> float:
    """Split an elementwise product/quotient into factors and divisors; return
    the product of its numbers (a number in a divisor counts inverted)."""
    if isinstance(node, Binary) and node.op in "*/":
        return (_factors(node.left, divides, out)
                * _factors(node.right, divides != (node.op == "/"), out))
    if isinstance(node, Num) and node.value != 0:
        return 1 / node.value if divides else node.value
    out[divides].append(node)
    return 1.0


def cancel_factors(node: Node) -> Node | None:
    """``node`` with ``sign(y) * y`` made ``abs(y)`` and factors that also divide
    cancelled, or ``None`` when neither applies.

    Elementwise products commute (broadcasting included), so factors may be
    regrouped; a cancelled pair is the same expression above and below the
    line, equal to 1 wherever the quotient is defined. The caller keeps the
    result only if its shape is the shape of ``node`` (a cancelled factor may
    have been the only one of full size).

    >>> from derivations.matrix_calculus.parser import parse
    >>> from derivations.matrix_calculus.expr import to_text
    >>> to_text(cancel_factors(parse("2 * norm2(x) * x / norm2(x)")))
    '2 * x'
    """
    factors, divisors = [], []
    coefficient = _factors(node, False, (factors, divisors))
    changed = False
    for f in list(factors):
        if isinstance(f, Call) and f.fn == "sign" and f.args[0] in factors:
            factors.remove(f)
            factors.remove(f.args[0])
            factors.append(Call("abs", f.args))
            changed = True
    for d in list(divisors):
        if d in factors:
            factors.remove(d)
            divisors.remove(d)
            changed = True
    if not changed:
        return None
    result = None
    for f in factors:
        result = f if result is None else Binary("*", result, f)
    if coefficient != 1 or result is None:
        result = Num(coefficient) if result is None else Binary("*", Num(coefficient), result)
    for d in divisors:
        result = Binary("/", result, d)
    return result


def positive_almost_everywhere(node: Node) -> bool:
    """Whether a scalar ``node`` is > 0 except on a set of measure zero, where
    what contains it is not differentiable anyway: ``exp(s)``; ``|s|`` and
    ``‖s‖``; a product that reads the same transposed with an even number of
    factors (``x.T @ x``, ``x.T @ A.T @ A @ x``: a squared norm)."""
    if isinstance(node, Call) and node.fn in ("exp", "abs", "norm2"):
        return True
    if isinstance(node, Binary) and node.op == "@":
        factors = chain_factors(node)
        return len(factors) % 2 == 0 and is_symmetric(node)
    return False


def split_inverses(node: Node, shape) -> Node:
    """``node`` with every inverse of a product of square factors taken apart:
    ``inv(P @ Q @ R)`` as ``inv(R) @ inv(Q) @ inv(P)``, and ``inv(P.T)`` as
    ``inv(P).T``; ``shape`` gives a node's ``(rows, cols)``."""
    def inverse(factor: Node) -> Node:
        if isinstance(factor, Transpose):
            return Transpose(inverse(factor.arg))
        if isinstance(factor, Call) and factor.fn == "inv":
            return factor.args[0]
        return Call("inv", (factor,))

    def walk(n: Node) -> Node:
        if isinstance(n, Call):
            args = tuple(walk(a) for a in n.args)
            if n.fn == "inv" and isinstance(args[0], Binary) and args[0].op == "@":
                factors = chain_factors(args[0])
                if all(shape(f)[0] == shape(f)[1] for f in factors):
                    result = inverse(factors[-1])
                    for factor in reversed(factors[:-1]):
                        result = Binary("@", result, inverse(factor))
                    return result
            return Call(n.fn, args)
        if isinstance(n, Binary):
            return Binary(n.op, walk(n.left), walk(n.right))
        if isinstance(n, Transpose):
            return Transpose(walk(n.arg))
        if isinstance(n, Neg):
            return Neg(walk(n.arg))
        return n

    return walk(node)
