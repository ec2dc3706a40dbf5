"""What of the Matrix Cookbook's §2.1-2.8 the reference leaves out, and what it finds wrong.

:data:`LEFT_OUT` names every equation of (46)-(144) that no entry checks,
with the reason; a test asserts that each number of the range is either
checked or listed here.  :data:`ERRATA` holds the Cookbook's printed answers
that the checks refute; the reference page recomputes the numbers that
refute each while it is built, and the corrected identity is an entry.
"""

from __future__ import annotations

from typing import NamedTuple

from .cookbook_entry import TRANSCRIPTION
from .cookbook_forms import power, product

__all__ = ["ERRATA", "LEFT_OUT", "PRINTED_IN", "REASONS", "Erratum", "Omission"]

#: Why an identity is left out, by the short name that :data:`LEFT_OUT` uses.
#:
#: :meta hide-value:
REASONS: dict[str, str] = {
    "rule": "a rule, relation or definition, not the derivative of a given expression",
    "not expressible": "not expressible, the matrix language lacks an operation it needs",
    "no rule": "not checkable, derive has no differentiation rule through an operation "
               "it needs",
    "complex": "complex-valued only (Xᴴ, conjugates)",
    "structured": "a structured variable (§2.8)",
}


class Omission(NamedTuple):
    """Equations of §2.1-2.8 that no entry checks (``numbers`` empty: unnumbered)."""

    numbers: tuple[int, ...]
    what: str
    reason: str  # a key of REASONS
    detail: str = ""


LEFT_OUT: tuple[Omission, ...] = (
    Omission((47, 50), "Σ_k ∂det(X)/∂X_ik X_jk = δ_ij det(X)", "rule",
             "a relation between the gradient and X"),
    Omission((56,), "∂ ln det(XᵀX)/∂X⁺ = −2Xᵀ", "not expressible",
             "the pseudo-inverse X⁺ (the variable would be X⁺ itself)"),
    Omission((), "∂J/∂A = −A⁻ᵀ (∂J/∂W) A⁻ᵀ for W = A⁻¹ (§2.2)", "rule",
             "a chain rule through the inverse; unnumbered in the 2012 text"),
    Omission((67, 68), "∂λᵢ and ∂vᵢ of an eigenvalue and eigenvector of a symmetric A",
             "not expressible", "eigenvalues and eigenvectors"),
    Omission((89,), "∂(a − xᴴb)²/∂x", "complex"),
    Omission((96,), "f = xᵀAx + bᵀx, the function whose gradient and Hessian are (97)-(98)",
             "rule", "a definition"),
    Omission((105,), "∂Tr(A ⊗ X)/∂X = Tr(A) I", "no rule", "the Kronecker product kron"),
    Omission((120,), "∂Tr(X ⊗ X)/∂X, the Kronecker form of (120) (its Tr(X)Tr(X) form is "
             "checked)", "no rule", "the Kronecker product kron"),
    Omission((), "∂Tr(F(X))/∂X = f(X)ᵀ (the opening of §2.5)", "not expressible",
             "matrix functions F(X) defined by power series; whether it is numbered was "
             "not seen, and (93)-(98) are numbered here as if it were not"),
    Omission((128,), "∂Tr(sin X)/∂X = cos(X)ᵀ", "not expressible",
             "the matrix sine (the language's sin acts entry by entry)"),
    Omission((133, 134), "df/dA_ij for a structured A, and the structure matrix Sⁱʲ",
             "structured"),
    Omission((135, 136, 137), "the chain rule for g(U) with U = f(X), entry by entry", "rule"),
    Omission((138, 139, 140, 141), "symmetric X: df/dX = G + Gᵀ − G ∘ I, and Tr(AX), det X, "
             "ln det X", "structured"),
    Omission((142,), "diagonal X: ∂Tr(AX)/∂X = A ∘ I", "structured"),
    Omission((143, 144), "Toeplitz T: ∂Tr(AT)/∂T, unconstrained and symmetric", "structured"),
)


class Erratum(NamedTuple):
    """A printed answer the checks refute: ``(citation, expression, wrt, stated, shapes)``."""

    citation: str
    expression: str
    wrt: str
    stated: str
    shapes: tuple


def _printed_92(n: int) -> str:
    """(92) as printed: Σ_r [X^(n-1-r) abᵀ (Xⁿ)ᵀ Xʳ + (Xʳ)ᵀ Xⁿ abᵀ (X^(n-1-r))ᵀ]."""
    return " + ".join(
        product(power(n - 1 - r), "a @ b.T", power(n, True), power(r)) + " + "
        + product(power(r, True), power(n), "a @ b.T", power(n - 1 - r, True))
        for r in range(n))


#: Where the errata's printed answers were read (not checked against the PDF's
#: image: a transcription error would show here as an erratum).
#:
#: :meta hide-value:
PRINTED_IN = TRANSCRIPTION

#: The Cookbook's answers that the checks refute.  Each corrected identity is
#: an entry of the reference ((92) and (95), marked "corrected").
#:
#: :meta hide-value:
ERRATA: tuple[Erratum, ...] = (
    Erratum("Cookbook (92), n = 2, as printed; equation number unverified",
            "a.T @ matrix_power(X, 2).T @ matrix_power(X, 2) @ b", "X", _printed_92(2),
            ("a=nx1", "b=nx1")),
    # The printed xᵀBBx needs B square to be defined at all.
    Erratum("Cookbook (95), as printed; equation number unverified",
            "(A @ x).T @ (A @ x) / ((B @ x).T @ (B @ x))", "x",
            "2 * A.T @ A @ x / (x.T @ B @ B @ x)"
            " - 2 * (x.T @ A.T @ A @ x) * B.T @ B @ x / (x.T @ B.T @ B @ x) ** 2",
            ("x=nx1", "B=nxn")),
)
