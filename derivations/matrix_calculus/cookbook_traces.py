"""The Matrix Cookbook's §2.5-2.7 as questions: traces, vector norms, the Frobenius norm.

Where the Cookbook assumes ``B`` and ``C`` (and ``A``) symmetric in
(125)-(127), the question puts ``D + Dᵀ``, ``E + Eᵀ`` and ``F + Fᵀ`` in
their place, so the identity is checked for every symmetric matrix.
"""

from __future__ import annotations

from .cookbook_entry import Entry
from .cookbook_forms import power_sum, product

__all__ = ["TRACES"]

_S = "(D + D.T)"  # symmetric matrices for every D, E, F
_T = "(E + E.T)"
_U = "(F + F.T)"


def _trace_power(k: int) -> Entry:
    """(121): ∂ tr(Xᵏ)/∂X = k (Xᵏ⁻¹)ᵀ."""
    previous = "X.T" if k == 2 else f"matrix_power(X, {k - 1}).T"
    return Entry(121, "traces", f"tr(matrix_power(X, {k}))", "X", f"{k} * {previous}",
                 variant=f"k = {k}")


def _trace_a_power(k: int) -> Entry:
    """(122): ∂ tr(AXᵏ)/∂X = Σ_{r=0}^{k-1} (Xʳ A Xᵏ⁻ʳ⁻¹)ᵀ, each term's transpose written out."""
    return Entry(122, "traces", f"tr({product('A', f'matrix_power(X, {k})')})", "X",
                 power_sum(k, "A.T"), variant=f"k = {k}")


TRACES: tuple[Entry, ...] = (
    # ----- 2.5.1 first order -----
    Entry(99, "traces", "tr(X)", "X", "eye_like(X)"),
    Entry(100, "traces", "tr(X @ A)", "X", "A.T"),
    Entry(101, "traces", "tr(A @ X @ B)", "X", "A.T @ B.T"),
    Entry(102, "traces", "tr(A @ X.T @ B)", "X", "B @ A"),
    Entry(103, "traces", "tr(X.T @ A)", "X", "A"),
    Entry(104, "traces", "tr(A @ X.T)", "X", "A"),
    # ----- 2.5.2 second order -----
    Entry(106, "traces", "tr(X @ X)", "X", "2 * X.T"),
    Entry(107, "traces", "tr(X @ X @ B)", "X", "(X @ B + B @ X).T"),
    Entry(108, "traces", "tr(X.T @ B @ X)", "X", "B @ X + B.T @ X"),
    Entry(109, "traces", "tr(B @ X @ X.T)", "X", "B @ X + B.T @ X"),
    Entry(110, "traces", "tr(X @ X.T @ B)", "X", "B @ X + B.T @ X"),
    Entry(111, "traces", "tr(X @ B @ X.T)", "X", "X @ B.T + X @ B"),
    Entry(112, "traces", "tr(B @ X.T @ X)", "X", "X @ B.T + X @ B"),
    Entry(113, "traces", "tr(X.T @ X @ B)", "X", "X @ B.T + X @ B"),
    Entry(114, "traces", "tr(A @ X @ B @ X)", "X", "A.T @ X.T @ B.T + B.T @ X.T @ A.T"),
    Entry(115, "traces", "tr(X.T @ X)", "X", "2 * X"),
    Entry(115, "traces", "tr(X @ X.T)", "X", "2 * X", variant="second form"),
    Entry(116, "traces", "tr(B.T @ X.T @ C @ X @ B)", "X", "C.T @ X @ B @ B.T + C @ X @ B @ B.T"),
    Entry(117, "traces", "tr(X.T @ B @ X @ C)", "X", "B @ X @ C + B.T @ X @ C.T"),
    Entry(118, "traces", "tr(A @ X @ B @ X.T @ C)", "X", "A.T @ C.T @ X @ B.T + C @ A @ X @ B"),
    Entry(119, "traces", "tr((A @ X @ B + C) @ (A @ X @ B + C).T)", "X",
          "2 * A.T @ (A @ X @ B + C) @ B.T"),
    Entry(120, "traces", "tr(X) * tr(X)", "X", "2 * tr(X) * eye_like(X)",
          note="the form Tr(X)Tr(X); the form Tr(X ⊗ X) is left out"),
    # ----- 2.5.3 higher order -----
    *(_trace_power(k) for k in (2, 3, 4, 5)),
    *(_trace_a_power(k) for k in (2, 3, 4)),
    Entry(123, "traces", "tr(B.T @ X.T @ C @ X @ X.T @ C @ X @ B)", "X",
          "C @ X @ X.T @ C @ X @ B @ B.T + C.T @ X @ B @ B.T @ X.T @ C.T @ X"
          " + C @ X @ B @ B.T @ X.T @ C @ X + C.T @ X @ X.T @ C.T @ X @ B @ B.T"),
    # ----- 2.5.4 other -----
    Entry(124, "traces", "tr(A @ inv(X) @ B)", "X", "-inv(X).T @ A.T @ B.T @ inv(X).T",
          variant="second form", note="the first form is (63)'s"),
    Entry(125, "traces", f"tr(inv(X.T @ {_S} @ X) @ A)", "X",
          f"-({_S} @ X @ inv(X.T @ {_S} @ X)) @ (A + A.T) @ inv(X.T @ {_S} @ X)",
          ("X=mxn",), note="C symmetric (here D + Dᵀ)"),
    Entry(126, "traces", f"tr(inv(X.T @ {_S} @ X) @ (X.T @ {_T} @ X))", "X",
          f"-2 * {_S} @ X @ inv(X.T @ {_S} @ X) @ X.T @ {_T} @ X @ inv(X.T @ {_S} @ X)"
          f" + 2 * {_T} @ X @ inv(X.T @ {_S} @ X)",
          ("X=mxn",), note="B and C symmetric"),
    Entry(127, "traces", f"tr(inv({_U} + X.T @ {_S} @ X) @ (X.T @ {_T} @ X))", "X",
          f"-2 * {_S} @ X @ inv({_U} + X.T @ {_S} @ X) @ X.T @ {_T} @ X"
          f" @ inv({_U} + X.T @ {_S} @ X) + 2 * {_T} @ X @ inv({_U} + X.T @ {_S} @ X)",
          ("X=mxn",), note="A, B and C symmetric"),
    # ----- 2.6 vector norms -----
    Entry(129, "norms", "norm2(x - a)", "x", "(x - a) / norm2(x - a)", ("a=nx1", "x=nx1")),
    Entry(129, "norms", "norm2(x)", "x", "x / norm2(x)", ("x=nx1",), "a = 0"),
    Entry(130, "norms", "(x - a) / norm2(x - a)", "x",
          "G / norm2(x - a) - (x - a) @ (x - a).T @ G / norm2(x - a) ** 3", ("a=nx1", "x=nx1"),
          note="as a VJP (the Jacobian is symmetric)"),
    Entry(131, "norms", "x.T @ x", "x", "2 * x", ("x=nx1",), "‖x‖₂² as xᵀx"),
    Entry(131, "norms", "norm2(x) ** 2", "x", "2 * x", ("x=nx1",), "‖x‖₂² as norm2(x) ** 2"),
    Entry(131, "norms", "norm2(x.T @ x)", "x", "2 * x", ("x=nx1",), "second form, ‖xᵀx‖₂"),
    # ----- 2.7 matrix norms -----
    Entry(132, "norms", "sum(X * X)", "X", "2 * X", variant="‖X‖_F² as Σ X ⊙ X"),
    Entry(132, "norms", "norm2(X) ** 2", "X", "2 * X", variant="‖X‖_F² as norm2(X) ** 2"),
    Entry(132, "norms", "norm2(X)", "X", "X / norm2(X)", variant="‖X‖_F, with the chain rule"),
)
