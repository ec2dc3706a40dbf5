"""One entry of the Matrix Cookbook's chapter 2, and where its equation number was seen.

K. B. Petersen and M. S. Pedersen, *The Matrix Cookbook*, version of
November 15, 2012.  An :class:`Entry` is a question in the matrix language
(expression, variable, shapes) with the Cookbook's answer in its own
(denominator) layout, cited by the equation number the Cookbook prints
beside it.  The data modules (``cookbook_determinants``, ``cookbook_forms``,
``cookbook_traces``) hold the entries; ``cookbook`` gathers them.

Whether an equation number is *verified* is computed from
:data:`NUMBER_SOURCES`, not typed per entry: a number is verified when a
source below prints it beside the same formula.  The others were placed by
counting the displayed equations of a transcription that has the formulas
in order but no numbers, between two verified numbers; they are marked as
unverified wherever they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHAPTER_2_SECTIONS", "EXACT_COUNT", "Entry", "NUMBER_SOURCES", "TRANSCRIPTION",
           "seen_in"]

#: The equation numbers of sections 2.1-2.8: (46) opens §2.1 (the general
#: form of a determinant's derivative; (33)-(45) are the rules that open
#: chapter 2) and (144) closes §2.8 (chapter 3 opens with (145)).
CHAPTER_2_SECTIONS = range(46, 145)


def _numbers(*spans) -> frozenset[int]:
    """A set of equation numbers from single numbers and ``(first, last)`` spans."""
    out: set[int] = set()
    for span in spans:
        first, last = span if isinstance(span, tuple) else (span, span)
        out.update(range(first, last + 1))
    return frozenset(out)


#: Where equation numbers were read beside their formulas: a short name, what
#: the source is, and the numbers of chapter 2 it shows.
#:
#: :meta hide-value:
NUMBER_SOURCES: dict[str, tuple[str, frozenset[int]]] = {
    "PDF page 10": (
        "the text layer of page 10 of the 2012 PDF, as served by fliphtml5.com "
        "(ifgyy/oati/The_Matrix_Cookbook/10)", _numbers((60, 75))),
    "Tensor Cookbook": (
        "T. Ahle's Tensor Cookbook (github.com/thomasahle/tensorgrad, paper/chapters), "
        "which restates Matrix Cookbook identities under their numbers",
        _numbers(46, 47, 49, 51, (57, 59), (61, 70), (73, 74), (76, 83), (90, 91),
                 (99, 101), (106, 119), (121, 123), (125, 132), (138, 142))),
    "SymPy tests": (
        "SymPy's matrix-derivative tests (sympy/matrices/expressions/tests/"
        "test_derivatives.py, comments 'Cookbook example N')",
        _numbers((61, 64), (69, 72), (77, 78), (81, 83), (99, 127))),
    "lean-matrix-cookbook": (
        "E. Wieser's lean-matrix-cookbook (github.com/eric-wieser/lean-matrix-cookbook, "
        "theorem names eq_33 to eq_46, and chapter 3 opening at eq_145)", _numbers(46)),
}

#: Unverified numbers that an exact count fixes: they lie between two verified
#: numbers with exactly as many displayed equations between them as there are
#: numbers ((48) between (47) and (49); (52)-(56) between (51) and (57), whose
#: formulas the transcription shows in that order; (84)-(89) between (83) and
#: (90), a block the Tensor Cookbook also calls (84)-(88)).  From (92) to (98)
#: the count is not exact: the opening of §2.5 may be numbered or not.
EXACT_COUNT = _numbers(48, (52, 56), (84, 89))

#: The transcription that gives the formulas of §2.1-2.8 in order (without
#: numbers); it is also where the errata's printed answers were read.
#:
#: :meta hide-value:
TRANSCRIPTION = ("the Mathpix transcription of the 2012 PDF in eric-wieser/lean-matrix-cookbook "
                 "(md/main.md, commit 5b5647a)")


def seen_in(number: int) -> tuple[str, ...]:
    """The sources of :data:`NUMBER_SOURCES` that print equation ``number``."""
    return tuple(name for name, (_, numbers) in NUMBER_SOURCES.items() if number in numbers)


@dataclass(frozen=True)
class Entry:
    """A Cookbook identity as a question: ``d expression / d wrt = stated``.

    ``stated`` is the Cookbook's answer in the matrix language, the gradient
    (denominator layout) for a scalar ``expression`` and the VJP in ``G``
    for a matrix-valued one.  ``variant`` tells apart entries of one
    equation (a second printed form, a value of ``k``); ``note`` says what
    the question assumes or substitutes; ``also`` lists other equation
    numbers that print the same identity.
    """

    eq: int
    topic: str
    expression: str
    wrt: str
    stated: str
    shapes: tuple = ()
    variant: str = ""
    note: str = ""
    also: tuple[int, ...] = ()

    @property
    def verified(self) -> bool:
        """Whether a source prints this entry's equation number beside its formula."""
        return bool(seen_in(self.eq))

    @property
    def citation(self) -> str:
        """``Cookbook (91), n = 3``: the number, and the variant if any."""
        numbers = ", ".join(f"({n})" for n in (self.eq, *self.also))
        return f"Cookbook {numbers}" + (f", {self.variant}" if self.variant else "")

    @property
    def source(self) -> str:
        """The citation with its note, and a mark when the number is unverified."""
        parts = [self.citation] + ([self.note] if self.note else [])
        if not self.verified:
            parts.append("equation number unverified")
        return "; ".join(parts)

    def row(self) -> tuple:
        """``(topic, expression, wrt, stated, source, shapes)``, the fields of an Identity."""
        return (self.topic, self.expression, self.wrt, self.stated, self.source, self.shapes)
