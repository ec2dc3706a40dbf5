"""The Matrix Cookbook's chapter 2, beyond the identities of ``identities.py``.

K. B. Petersen and M. S. Pedersen, *The Matrix Cookbook*, version of
November 15, 2012, sections 2.1-2.7, in the matrix language: each row is
``(topic, expression, variable, the Cookbook's answer, citation, shapes)``,
answers in the Cookbook's own (denominator) layout.  ``identities.py``
turns them into :class:`~identities.Identity` rows, checked like the others.

(53) and (54) need ``XᵀAX`` invertible, so ``X`` has more rows than columns:
their shapes are fixed (3×2), while a determinant has no pole to steer the
random sizes away from.  Where the Cookbook assumes a symmetric matrix (``W``, or ``B`` and ``C`` in
(125)-(127)), the question substitutes a matrix that is symmetric for every
value of its variables, ``V + V.T``: the identity is then checked for every
symmetric matrix, not only for the one drawn.  Left out, and why:

- entry-wise and general forms, which are rules rather than questions:
  (33), (34)-(48) (basic rules), (50), (59)-(60), (73)-(75), (79)-(80), (89),
  the derivatives with respect to a scalar ``x`` of a function ``Y(x)``
  (the first equation of each of §2.1.1 and §2.2), multiple derivatives
  (§2.1.5) and the general ``s(x)ᵀ A r(x)`` forms of §2.4.3;
- the derivative with respect to the pseudo-inverse ``X⁺`` (§2.1.4);
- ``Tr(A ⊗ X)`` (105): ``derive`` has no rule through ``kron``;
- matrix functions (``Tr(sin X)``, §2.5.5) and eigenvectors (§2.3.1);
- complex-only forms (the ``Xᴴ`` variants) and structured matrices (§2.8:
  symmetric, diagonal, Toeplitz variables).
"""

from __future__ import annotations

__all__ = ["COOKBOOK", "ERRATA"]

#: Cookbook identities the checks find wrong, as ``(citation, expression,
#: variable, the Cookbook's answer, shapes)``: the reference page shows the
#: numbers that refute each, computed while it is built.  None of the rows
#: below has been found wrong, so the table is empty.
ERRATA: tuple[tuple, ...] = ()

_S = "(D + D.T)"  # a symmetric matrix for every D
_T = "(E + E.T)"
_U = "(F + F.T)"
_W = "(V + V.T)"

COOKBOOK: tuple[tuple, ...] = (
    # ----- 2.1 determinants -----
    ("determinants", "det(X.T @ A @ X)", "X", "2 * det(X.T @ A @ X) * inv(X).T",
     "Cookbook (52), X square and invertible", ("X=nxn", "A=nxn")),
    ("determinants", f"det(X.T @ {_S} @ X)", "X",
     f"2 * det(X.T @ {_S} @ X) * {_S} @ X @ inv(X.T @ {_S} @ X)",
     "Cookbook (53), A symmetric (here D + Dᵀ)", ("X=3x2",)),
    ("determinants", "det(X.T @ A @ X)", "X",
     "det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X) + A.T @ X @ inv(X.T @ A.T @ X))",
     "Cookbook (54)", ("X=3x2",)),
    ("determinants", "log(det(X.T @ X))", "X", "2 * X @ inv(X.T @ X)",
     "Cookbook (55), 2 (X⁺)ᵀ with X⁺ = (XᵀX)⁻¹Xᵀ", ("X=mxn",)),
    ("determinants", "logdet(X)", "X", "inv(X).T", "Cookbook (57), ln|det X| where det X > 0"),
    ("determinants", "det(matrix_power(X, 3))", "X", "3 * det(matrix_power(X, 3)) * inv(X).T",
     "Cookbook (58), k = 3"),
    ("determinants", "det(inv(X))", "X", "-det(inv(X)) * inv(X).T", "Cookbook (62)"),
    # ----- 2.3 eigenvalues: their sum is the trace, their product the determinant -----
    ("eigenvalues", "tr(X)", "X", "eye_like(X)", "Cookbook §2.3, ∂ Σ eig(X) = ∂ tr X"),
    ("eigenvalues", "det(X)", "X", "det(X) * inv(X).T", "Cookbook §2.3, ∂ Π eig(X) = ∂ det X"),
    # ----- 2.4 scalar forms -----
    ("forms", "a.T @ x", "x", "a", "Cookbook (69), second form", ("a=nx1", "x=nx1")),
    ("forms", "a.T @ X.T @ a", "X", "a @ a.T", "Cookbook (72), second form", ("a=nx1",)),
    ("forms", "sum(X) * sum(X)", "X", "2 * sum(X) * ones_like(X)",
     "Cookbook (76), ∂/∂X_ij Σ X_kl X_mn = 2 Σ X_kl"),
    ("forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "s", f"-2 * A.T @ {_W} @ (x - A @ s)",
     "Cookbook (84), W symmetric (here V + Vᵀ)", ("x=mx1", "s=nx1")),
    ("forms", f"(x - s).T @ {_W} @ (x - s)", "x", f"2 * {_W} @ (x - s)",
     "Cookbook (85), W symmetric", ("x=nx1", "s=nx1")),
    ("forms", f"(x - s).T @ {_W} @ (x - s)", "s", f"-2 * {_W} @ (x - s)",
     "Cookbook (86), W symmetric", ("x=nx1", "s=nx1")),
    ("forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "x", f"2 * {_W} @ (x - A @ s)",
     "Cookbook (87), W symmetric", ("x=mx1", "s=nx1")),
    ("forms", f"(x - A @ s).T @ {_W} @ (x - A @ s)", "A", f"-2 * {_W} @ (x - A @ s) @ s.T",
     "Cookbook (88), W symmetric", ("x=mx1", "s=nx1")),
    ("forms", "a.T @ matrix_power(X, 3) @ b", "X",
     "a @ b.T @ matrix_power(X, 2).T + X.T @ a @ b.T @ X.T + matrix_power(X, 2).T @ a @ b.T",
     "Cookbook (90), n = 3", ("a=nx1", "b=nx1")),
    # ----- 2.5 traces -----
    ("traces", "tr(B.T @ X.T @ C @ X @ B)", "X", "C.T @ X @ B @ B.T + C @ X @ B @ B.T",
     "Cookbook (116)"),
    ("traces", "tr(matrix_power(X, 2))", "X", "2 * X.T", "Cookbook (121), k = 2"),
    ("traces", "tr(matrix_power(X, 3))", "X", "3 * matrix_power(X, 2).T", "Cookbook (121), k = 3"),
    ("traces", "tr(matrix_power(X, 4))", "X", "4 * matrix_power(X, 3).T", "Cookbook (121), k = 4"),
    ("traces", "tr(A @ matrix_power(X, 3))", "X",
     "(A @ matrix_power(X, 2)).T + (X @ A @ X).T + (matrix_power(X, 2) @ A).T",
     "Cookbook (122), k = 3"),
    ("traces", "tr(B.T @ X.T @ C @ X @ X.T @ C @ X @ B)", "X",
     "C @ X @ X.T @ C @ X @ B @ B.T + C.T @ X @ B @ B.T @ X.T @ C.T @ X"
     " + C @ X @ B @ B.T @ X.T @ C @ X + C.T @ X @ X.T @ C.T @ X @ B @ B.T",
     "Cookbook (123)"),
    ("traces", f"tr(inv(X.T @ {_S} @ X) @ A)", "X",
     f"-({_S} @ X @ inv(X.T @ {_S} @ X)) @ (A + A.T) @ inv(X.T @ {_S} @ X)",
     "Cookbook (125), C symmetric (here D + Dᵀ)", ("X=mxn",)),
    ("traces", f"tr(inv(X.T @ {_S} @ X) @ (X.T @ {_T} @ X))", "X",
     f"-2 * {_S} @ X @ inv(X.T @ {_S} @ X) @ X.T @ {_T} @ X @ inv(X.T @ {_S} @ X)"
     f" + 2 * {_T} @ X @ inv(X.T @ {_S} @ X)",
     "Cookbook (126), B and C symmetric", ("X=mxn",)),
    ("traces", f"tr(inv({_U} + X.T @ {_S} @ X) @ (X.T @ {_T} @ X))", "X",
     f"-2 * {_S} @ X @ inv({_U} + X.T @ {_S} @ X) @ X.T @ {_T} @ X"
     f" @ inv({_U} + X.T @ {_S} @ X) + 2 * {_T} @ X @ inv({_U} + X.T @ {_S} @ X)",
     "Cookbook (127), A, B and C symmetric", ("X=mxn",)),
    # ----- 2.6 vector norms -----
    ("norms", "(x - a) / norm2(x - a)", "x",
     "G / norm2(x - a) - (x - a) @ (x - a).T @ G / norm2(x - a) ** 3",
     "Cookbook (130), as a VJP (the Jacobian is symmetric)", ("a=nx1", "x=nx1")),
)
