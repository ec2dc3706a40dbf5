"""The Matrix Cookbook's §2.4 as questions: matrices, vectors and scalar forms.

Entry-wise identities ((73)-(75), (79)-(80), (90)) are asked as the
vector-Jacobian product they imply: ``Σ_kl G_kl ∂F_kl/∂X_ij`` for an
upstream ``G`` of ``F``'s shape.  Where the Cookbook assumes ``W``
symmetric, the question puts ``V + Vᵀ`` in its place, so the identity is
checked for every symmetric matrix, not only for the one drawn.  A general
power ``n`` or ``k`` is checked at several values.
"""

from __future__ import annotations

from .cookbook_entry import Entry

__all__ = ["FORMS", "power", "power_sum", "product"]

_W = "(V + V.T)"  # a symmetric matrix for every V
_VEC = ("a=nx1", "x=nx1")
_AB = ("a=nx1", "b=nx1")


def power(k: int, transposed: bool = False) -> str:
    """``X^k`` (or its transpose) in the matrix language; ``""`` for ``k = 0``."""
    if k == 0:
        return ""
    text = "X" if k == 1 else f"matrix_power(X, {k})"
    return text + ".T" if transposed else text


def product(*factors: str) -> str:
    """The matrix product of the non-empty ``factors`` (an empty one is the identity)."""
    return " @ ".join(f for f in factors if f)


def power_sum(n: int, middle: str, left: str = "") -> str:
    """``Σ_{r=0}^{n-1} (Xʳ)ᵀ left middle (Xⁿ⁻¹⁻ʳ)ᵀ``, each power written out."""
    return " + ".join(product(power(r, True), left, middle, power(n - 1 - r, True))
                      for r in range(n))


def _power_vjp(n: int) -> Entry:
    """(90): ∂(Xⁿ)_kl/∂X_ij = Σ (Xʳ Jⁱʲ Xⁿ⁻¹⁻ʳ)_kl, as the VJP Σ (Xʳ)ᵀ G (Xⁿ⁻¹⁻ʳ)ᵀ."""
    return Entry(90, "forms", power(n), "X", power_sum(n, "G"), variant=f"n = {n}",
                 note="as a VJP")


def _a_power_b(n: int) -> Entry:
    """(91): ∂ aᵀXⁿb/∂X = Σ (Xʳ)ᵀ abᵀ (Xⁿ⁻¹⁻ʳ)ᵀ."""
    return Entry(91, "forms", f"a.T @ {power(n)} @ b", "X", power_sum(n, "a @ b.T"), _AB,
                 f"n = {n}")


def _gram_power(n: int) -> Entry:
    """(92), corrected (see the errata): Σ (Xʳ)ᵀ Xⁿ (abᵀ + baᵀ) (Xⁿ⁻¹⁻ʳ)ᵀ."""
    return Entry(92, "forms", f"a.T @ {power(n, True)} @ {power(n)} @ b", "X",
                 power_sum(n, "(a @ b.T + b @ a.T)", left=power(n)), _AB,
                 f"n = {n}, corrected", "the printed answer transposes its first term")


FORMS: tuple[Entry, ...] = (
    # ----- 2.4.1 first order -----
    Entry(69, "forms", "x.T @ a", "x", "a", _VEC),
    Entry(69, "forms", "a.T @ x", "x", "a", _VEC, "second form"),
    Entry(70, "forms", "a.T @ X @ b", "X", "a @ b.T", ("a=mx1", "b=nx1")),
    Entry(71, "forms", "a.T @ X.T @ b", "X", "b @ a.T", ("a=nx1", "b=mx1")),
    Entry(72, "forms", "a.T @ X @ a", "X", "a @ a.T", ("a=nx1",)),
    Entry(72, "forms", "a.T @ X.T @ a", "X", "a @ a.T", ("a=nx1",), "second form"),
    Entry(73, "forms", "X", "X", "G", note="∂X/∂X_ij = Jⁱʲ, as a VJP"),
    Entry(74, "forms", "X @ A", "X", "G @ A.T", note="entry by entry, as a VJP"),
    Entry(75, "forms", "X.T @ A", "X", "A @ G.T", note="entry by entry, as a VJP"),
    # ----- 2.4.2 second order -----
    Entry(76, "forms", "sum(X) * sum(X)", "X", "2 * sum(X) * ones_like(X)",
          note="∂/∂X_ij Σ X_kl X_mn = 2 Σ X_kl"),
    Entry(77, "forms", "b.T @ X.T @ X @ c", "X", "X @ (b @ c.T + c @ b.T)",
          ("b=nx1", "c=nx1")),
    Entry(78, "forms", "(B @ x + b).T @ C @ (D @ x + d)", "x",
          "B.T @ C @ (D @ x + d) + D.T @ C.T @ (B @ x + b)", ("x=nx1", "b=px1", "d=qx1")),
    Entry(80, "forms", "X.T @ B @ X", "X", "B.T @ X @ G + B @ X @ G.T",
          note="as a VJP; (79) is the same entry by entry", also=(79,)),
    Entry(81, "forms", "x.T @ B @ x", "x", "(B + B.T) @ x", ("x=nx1",)),
    Entry(82, "forms", "b.T @ X.T @ D @ X @ c", "X", "D.T @ X @ b @ c.T + D @ X @ c @ b.T",
          ("b=nx1", "c=nx1")),
    Entry(83, "forms", "(X @ b + c).T @ D @ (X @ b + c)", "X", "(D + D.T) @ (X @ b + c) @ b.T",
          ("b=nx1", "c=mx1")),
    # (84)-(88): the Tensor Cookbook names this block (84)-(88); the order
    # inside it is the transcription's (see cookbook_entry.EXACT_COUNT).
    Entry(84, "forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "s",
          f"-2 * A.T @ {_W} @ (x - A @ s)", ("x=mx1", "s=nx1"),
          note="W symmetric (here V + Vᵀ)"),
    Entry(85, "forms", f"(x - s).T @ {_W} @ (x - s)", "x", f"2 * {_W} @ (x - s)",
          ("x=nx1", "s=nx1"), note="W symmetric"),
    Entry(86, "forms", f"(x - s).T @ {_W} @ (x - s)", "s", f"-2 * {_W} @ (x - s)",
          ("x=nx1", "s=nx1"), note="W symmetric"),
    Entry(87, "forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "x", f"2 * {_W} @ (x - A @ s)",
          ("x=mx1", "s=nx1"), note="W symmetric"),
    Entry(88, "forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "A",
          f"-2 * {_W} @ (x - A @ s) @ s.T", ("x=mx1", "s=nx1"), note="W symmetric"),
    # ----- 2.4.3 higher order and non-linear -----
    *(_power_vjp(n) for n in (2, 3, 4)),
    *(_a_power_b(n) for n in (2, 3, 4)),
    *(_gram_power(n) for n in (1, 2, 3)),
    Entry(93, "forms", "tanh(B @ x).T @ A @ exp(C @ x)", "x",
          "B.T @ ((1 - tanh(B @ x) ** 2) * (A @ exp(C @ x)))"
          " + C.T @ (exp(C @ x) * (A.T @ tanh(B @ x)))",
          ("x=nx1",), "s = tanh(Bx), r = exp(Cx)", "∂/∂x sᵀAr with s(x), r(x) fixed"),
    Entry(93, "forms", "(B @ x).T @ A @ (C @ x)", "x", "B.T @ A @ C @ x + C.T @ A.T @ B @ x",
          ("x=nx1",), "s = Bx, r = Cx"),
    Entry(95, "forms", "(A @ x).T @ (A @ x) / ((B @ x).T @ (B @ x))", "x",
          "2 * A.T @ A @ x / (x.T @ B.T @ B @ x)"
          " - 2 * (x.T @ A.T @ A @ x) * B.T @ B @ x / (x.T @ B.T @ B @ x) ** 2",
          ("x=nx1",), "corrected", "the printed answer has xᵀBBx for xᵀBᵀBx", also=(94,)),
    Entry(95, "forms", "(A @ x).T @ (A @ x) / (x.T @ x)", "x",
          "2 * A.T @ A @ x / (x.T @ x) - 2 * (x.T @ A.T @ A @ x) * x / (x.T @ x) ** 2",
          ("x=nx1",), "B = I", also=(94,)),
    # ----- 2.4.4 gradient and Hessian of f = xᵀAx + bᵀx -----
    Entry(97, "forms", "x.T @ A @ x + b.T @ x", "x", "(A + A.T) @ x + b", ("x=nx1", "b=nx1")),
    Entry(98, "forms", "(A + A.T) @ x + b", "x", "(A + A.T) @ G", ("x=nx1", "b=nx1"),
          note="the Hessian A + Aᵀ as the Jacobian of (97)'s gradient, given as a VJP"),
)
