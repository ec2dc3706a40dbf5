"""The Matrix Cookbook's §2.1-2.3 as questions: determinants, inverses, eigenvalues.

Each :class:`~.cookbook_entry.Entry` is ``(eq, topic, expression, wrt,
stated, shapes, variant, note, also)``.  Where the Cookbook differentiates
with respect to a scalar ``x`` of a matrix ``Y(x)`` ((46), (48), (59)), the
question fixes ``Y(x) = A + xB`` (or ``A + xB + x²C``) and states the
answer with ``∂Y/∂x`` written out; ``x`` is then a scalar variable.
"""

from __future__ import annotations

from .cookbook_entry import Entry

__all__ = ["DETERMINANTS"]

_S = "(D + D.T)"  # a symmetric matrix for every D
_Y = "(A + x * B + x ** 2 * C)"  # Y(x), nonlinear in the scalar x
_DY = "(B + 2 * x * C)"  # dY/dx
_SCALAR = ("x=scalar",)

DETERMINANTS: tuple[Entry, ...] = (
    # ----- 2.1.1 general form: d det(Y(x)) / dx -----
    Entry(46, "determinants", "det(A + x * B)", "x", "det(A + x * B) * tr(inv(A + x * B) @ B)",
          _SCALAR, "Y = A + xB"),
    Entry(46, "determinants", f"det{_Y}", "x", f"det{_Y} * tr(inv{_Y} @ {_DY})",
          _SCALAR, "Y = A + xB + x²C"),
    Entry(48, "determinants", "det(A + x * B) * tr(inv(A + x * B) @ B)", "x",
          "det(A + x * B) * (tr(inv(A + x * B) @ B) * tr(inv(A + x * B) @ B)"
          " - tr(inv(A + x * B) @ B @ inv(A + x * B) @ B))",
          _SCALAR, "Y = A + xB", "∂²Y/∂x² = 0; asked as the derivative of (46)'s right-hand side"),
    Entry(48, "determinants", f"det{_Y} * tr(inv{_Y} @ {_DY})", "x",
          f"det{_Y} * (tr(inv{_Y} @ (2 * C)) + tr(inv{_Y} @ {_DY}) * tr(inv{_Y} @ {_DY})"
          f" - tr(inv{_Y} @ {_DY} @ inv{_Y} @ {_DY}))",
          _SCALAR, "Y = A + xB + x²C",
          "∂² det Y/∂x², asked as the derivative of (46)'s right-hand side"),
    # ----- 2.1.2 linear forms -----
    Entry(49, "determinants", "det(X)", "X", "det(X) * inv(X).T"),
    Entry(51, "determinants", "det(A @ X @ B)", "X", "det(A @ X @ B) * inv(X).T",
          ("A=nxn", "B=nxn")),
    Entry(51, "determinants", "det(A @ X @ B)", "X", "det(A @ X @ B) * inv(X.T)",
          ("A=nxn", "B=nxn"), "second form, (Xᵀ)⁻¹"),
    # ----- 2.1.3 square forms -----
    Entry(52, "determinants", "det(X.T @ A @ X)", "X", "2 * det(X.T @ A @ X) * inv(X).T",
          ("X=nxn", "A=nxn"), note="X square and invertible"),
    # XᵀAX must be invertible, so X has more rows than columns: its shape is
    # fixed (3x2), as a determinant has no pole to steer random sizes from.
    Entry(53, "determinants", f"det(X.T @ {_S} @ X)", "X",
          f"2 * det(X.T @ {_S} @ X) * {_S} @ X @ inv(X.T @ {_S} @ X)", ("X=3x2",),
          note="X not square, A symmetric (here D + Dᵀ)"),
    Entry(54, "determinants", "det(X.T @ A @ X)", "X",
          "det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X) + A.T @ X @ inv(X.T @ A.T @ X))",
          ("X=3x2",), note="X not square, A general"),
    # ----- 2.1.4 other nonlinear forms -----
    Entry(55, "determinants", "log(det(X.T @ X))", "X", "2 * X @ inv(X.T @ X)", ("X=mxn",),
          note="2 (X⁺)ᵀ with X⁺ = (XᵀX)⁻¹Xᵀ"),
    Entry(57, "determinants", "log(abs(det(X)))", "X", "inv(X).T", variant="ln|det X|"),
    Entry(57, "determinants", "logdet(X)", "X", "inv(X).T", variant="logdet",
          note="ln|det X| where det X > 0"),
    Entry(57, "determinants", "log(det(X))", "X", "inv(X.T)",
          variant="log of det, second form (Xᵀ)⁻¹", note="ln|det X| where det X > 0"),
    Entry(58, "determinants", "det(matrix_power(X, 2))", "X",
          "2 * det(matrix_power(X, 2)) * inv(X).T", variant="k = 2"),
    Entry(58, "determinants", "det(matrix_power(X, 3))", "X",
          "3 * det(matrix_power(X, 3)) * inv(X).T", variant="k = 3"),
    Entry(58, "determinants", "det(matrix_power(X, 4))", "X",
          "4 * det(matrix_power(X, 4)) * inv(X).T", variant="k = 4"),
    # ----- 2.2 inverses -----
    Entry(59, "inverses", "inv(A + x * B)", "x",
          "-sum(G * (inv(A + x * B) @ B @ inv(A + x * B)))", _SCALAR, "Y = A + xB",
          "as a VJP: Σ G ⊙ ∂Y⁻¹/∂x"),
    Entry(59, "inverses", f"inv{_Y}", "x", f"-sum(G * (inv{_Y} @ {_DY} @ inv{_Y}))", _SCALAR,
          "Y = A + xB + x²C", "as a VJP"),
    Entry(60, "inverses", "inv(X)", "X", "-(inv(X).T @ G @ inv(X).T)",
          note="as a VJP; also Giles (2008), reverse mode of C = A⁻¹"),
    Entry(61, "inverses", "a.T @ inv(X) @ b", "X", "-(inv(X).T @ a @ b.T @ inv(X).T)",
          ("a=nx1", "b=nx1")),
    Entry(62, "inverses", "det(inv(X))", "X", "-det(inv(X)) * inv(X).T"),
    Entry(63, "inverses", "tr(A @ inv(X) @ B)", "X", "-(inv(X) @ B @ A @ inv(X)).T"),
    Entry(64, "inverses", "tr(inv(X + A))", "X", "-(inv(X + A) @ inv(X + A)).T"),
    # ----- 2.3 eigenvalues: their sum is the trace, their product the determinant -----
    Entry(65, "eigenvalues", "tr(X)", "X", "eye_like(X)", note="∂ Σ eig(X) = ∂ tr X"),
    Entry(66, "eigenvalues", "det(X)", "X", "det(X) * inv(X).T", note="∂ Π eig(X) = ∂ det X"),
)
