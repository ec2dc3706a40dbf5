"""The Matrix Cookbook's chapter 2, sections 2.1-2.8, as checked questions.

K. B. Petersen and M. S. Pedersen, *The Matrix Cookbook*, version of
November 15, 2012.  :data:`ENTRIES` gathers the data modules
(``cookbook_determinants`` for §2.1-2.3, ``cookbook_forms`` for §2.4,
``cookbook_traces`` for §2.5-2.7), each identity cited by its equation
number; :data:`COOKBOOK` gives them as the rows that ``identities.py``
turns into :class:`~.identities.Identity` entries, checked like the others.
Answers are in the Cookbook's own (denominator) layout.

The lists below (how equation numbers were verified, what is left out and
why) are generated from the data in ``cookbook_entry`` and
``cookbook_omissions``, the same data the reference page renders.
"""

from __future__ import annotations

from .cookbook_determinants import DETERMINANTS
from .cookbook_entry import (
    CHAPTER_2_SECTIONS,
    EXACT_COUNT,
    NUMBER_SOURCES,
    TRANSCRIPTION,
    Entry,
    seen_in,
)
from .cookbook_forms import FORMS
from .cookbook_omissions import ERRATA, LEFT_OUT, PRINTED_IN, REASONS
from .cookbook_traces import TRACES

__all__ = ["COOKBOOK", "ENTRIES", "ERRATA", "LEFT_OUT", "left_out_markdown",
           "numbers_markdown"]

# Every Cookbook entry, in the order of the Cookbook's sections.
ENTRIES: tuple[Entry, ...] = DETERMINANTS + FORMS + TRACES

# The entries as ``(topic, expression, wrt, stated, source, shapes)`` rows.
COOKBOOK: tuple[tuple, ...] = tuple(entry.row() for entry in ENTRIES)


def _numbers(numbers) -> str:
    """``(47), (50)``, or ``unnumbered`` for none."""
    return ", ".join(f"({n})" for n in numbers) or "unnumbered"


def _unverified() -> list[int]:
    """The equation numbers of the entries that no source shows beside their formula."""
    return sorted({e.eq for e in ENTRIES if not e.verified})


def _counting() -> str:
    """How the unverified numbers were placed, in one sentence."""
    exact = [n for n in _unverified() if n in EXACT_COUNT]
    loose = [n for n in _unverified() if n not in EXACT_COUNT]
    return (f"placed by counting the displayed equations of {TRANSCRIPTION}: "
            f"{_numbers(exact)} by an exact count between verified numbers, "
            f"{_numbers(loose)} by a count that assumes the opening of §2.5 unnumbered")


def numbers_markdown() -> str:
    """How the equation numbers were verified, as Markdown (one source per line)."""
    numbers = sorted({e.eq for e in ENTRIES})
    verified = [n for n in numbers if seen_in(n)]
    lines = [f"Of the {len(numbers)} equation numbers the {len(ENTRIES)} Cookbook entries "
             f"cite, {len(verified)} were read beside the same formula in at least one of:", ""]
    lines += [f"- {name}: {what}" for name, (what, _) in NUMBER_SOURCES.items()]
    lines += ["", f"The other {len(numbers) - len(verified)} are marked *equation number "
              f"unverified*; they were {_counting()}. The errata's printed answers were read "
              f"in {PRINTED_IN}."]
    return "\n".join(lines)


def left_out_markdown() -> str:
    """The identities of §2.1-2.8 that no entry checks, as a Markdown table."""
    lines = ["| equation | identity | why left out |", "| --- | --- | --- |"]
    for omission in LEFT_OUT:
        why = REASONS[omission.reason] + (f": {omission.detail}" if omission.detail else "")
        lines.append(f"| {_numbers(omission.numbers)} | {omission.what} | {why} |")
    return "\n".join(lines)


def _docstring_lists() -> str:
    """The reStructuredText lists appended to this module's docstring."""
    lines = ["", "Equation numbers: the entries cite "
             f"({CHAPTER_2_SECTIONS.start})-({CHAPTER_2_SECTIONS.stop - 1}).  A number is "
             "verified where a source prints it beside the same formula:", ""]
    lines += [f"- *{name}*: {what}." for name, (what, _) in NUMBER_SOURCES.items()]
    lines += ["", f"Unverified numbers were {_counting()}.", "", "Left out, and why:", ""]
    for omission in LEFT_OUT:
        why = REASONS[omission.reason] + (f": {omission.detail}" if omission.detail else "")
        # "(56):", not "(56) ": reStructuredText would read "(56) " as a list number.
        lines.append(f"- {_numbers(omission.numbers)}: {omission.what} — {why}.")
    lines += ["", "Errata (printed answers the checks refute, as read in "
              f"{PRINTED_IN}; each corrected form is an entry):", ""]
    lines += [f"- {erratum.citation}." for erratum in ERRATA] or ["- none."]
    return "\n".join(lines) + "\n"


__doc__ = (__doc__ or "") + _docstring_lists()
