"""The Matrix Cookbook's chapter 2 in the identity reference: numbers, coverage, errata.

The identities themselves are checked with the others in
``test_matrix_calculus.py``; these tests keep the citations honest: each
entry cites one equation of §2.1-2.8, no citation is used twice, every
equation of the range is checked or listed as left out with a reason, an
unverified number says so, and each erratum is still refuted.
"""

from __future__ import annotations

from collections import Counter

import pytest

from derivations.matrix_calculus import cookbook
from derivations.matrix_calculus.cookbook import COOKBOOK, ENTRIES, ERRATA, LEFT_OUT
from derivations.matrix_calculus.cookbook_entry import (
    CHAPTER_2_SECTIONS,
    EXACT_COUNT,
    NUMBER_SOURCES,
    seen_in,
)
from derivations.matrix_calculus.cookbook_omissions import REASONS
from derivations.matrix_calculus.identities import IDENTITIES, Identity, check_identity


def test_every_entry_cites_an_equation_of_sections_2_1_to_2_8():
    outside = [(e.citation, e.expression) for e in ENTRIES
               if any(n not in CHAPTER_2_SECTIONS for n in (e.eq, *e.also))]
    assert not outside, f"cited outside ({CHAPTER_2_SECTIONS.start})-" \
                        f"({CHAPTER_2_SECTIONS.stop - 1}): {outside}"


def test_citations_are_unique():
    # An equation may have several entries (a second printed form, k = 2, 3, 4),
    # but each is cited by its number and a variant no other entry uses.
    repeated = [c for c, count in Counter(e.citation for e in ENTRIES).items() if count > 1]
    assert not repeated, f"cited twice: {repeated}"
    questions = Counter((e.eq, e.expression, e.wrt, e.stated) for e in ENTRIES)
    assert all(count == 1 for count in questions.values()), "an entry is written twice"


def test_every_equation_of_the_range_is_checked_or_left_out():
    checked = {n for e in ENTRIES for n in (e.eq, *e.also)}
    left_out = {n for omission in LEFT_OUT for n in omission.numbers}
    missing = sorted(set(CHAPTER_2_SECTIONS) - checked - left_out)
    assert not missing, f"equations neither checked nor listed as left out: {missing}"
    assert left_out <= set(CHAPTER_2_SECTIONS)
    assert all(omission.reason in REASONS for omission in LEFT_OUT)
    # A number both checked and left out must say which form is left out.
    for omission in LEFT_OUT:
        if set(omission.numbers) & checked:
            assert "form" in omission.what, omission


def test_unverified_numbers_are_marked_where_they_are_shown():
    for entry in ENTRIES:
        assert entry.verified == bool(seen_in(entry.eq))
        assert ("equation number unverified" in entry.source) != entry.verified, entry.source
    # The sources' numbers are numbers of the chapter (a typo would verify nothing).
    for name, (_, numbers) in NUMBER_SOURCES.items():
        assert numbers <= set(CHAPTER_2_SECTIONS), name
    # A number fixed by counting is one no source shows (else it is verified).
    assert not [n for n in EXACT_COUNT if seen_in(n)]


def test_every_entry_is_in_the_reference_with_its_citation():
    rows = {(i.expression, i.wrt, i.stated, i.source) for i in IDENTITIES}
    assert all((r[1], r[2], r[3], r[4]) in rows for r in COOKBOOK)
    for row, entry in zip(COOKBOOK, ENTRIES, strict=True):
        assert row[4].startswith(f"Cookbook ({entry.eq})"), row


def test_generated_lists_name_every_omission_and_erratum():
    table = cookbook.left_out_markdown()
    for omission in LEFT_OUT:
        assert omission.what in cookbook.__doc__
        assert omission.what in table
    for erratum in ERRATA:
        assert erratum.citation in cookbook.__doc__
    assert "unverified" in cookbook.numbers_markdown()


@pytest.mark.parametrize("erratum", ERRATA, ids=lambda e: e.citation.split(" (")[0])
def test_each_erratum_is_refuted_and_derive_answers_the_question(erratum):
    result = check_identity(Identity("errata", erratum.expression, erratum.wrt, erratum.stated,
                                     erratum.citation, erratum.shapes))
    refuting = [f"error {c.error:.2e} > tolerance {c.tolerance:.1e}"
                for c in result.stated_checks if not c.passed]
    assert refuting, f"{erratum.citation}: the printed answer holds after all"
    assert all(c.passed for c in result.derived_checks), \
        f"{erratum.citation}: derive's own answer failed, so nothing is refuted by it"
