"""The mutation catalogue: every wrong backward is rejected by both checkers,
correct code is never rejected, and the square/all-ones record is true.

One test per mutant comes from parametrising over ``derivations.mutants.MUTANTS``,
which collects every entry's ``mutants``: a mutant added beside its
derivation is tested with no change here.
"""

import numpy as np
import pytest

from derivations import mutants
from derivations.registry import REGISTRY
from derivations.verify import check_numeric, finite_difference_check

MUTANTS = [pytest.param(m, id=m.name) for m in mutants.MUTANTS]
ENTRIES = [pytest.param(d, id=d.name) for d in REGISTRY.values()]
FALSE_ALARM_SEEDS = 200


def test_catalogue_is_well_formed():
    names = mutants.mutant_names()
    assert len(names) >= 20 and len(set(names)) == len(names), names
    for m in mutants.MUTANTS:
        assert m.entry in REGISTRY, f"{m.name}: unknown entry {m.entry!r}"
        assert issubclass(m.wrong, m.derivation.netlib_class), m.name
        for text in (m.description, m.symptom):
            assert text and "\n" not in text and len(text) < 120, (m.name, text)


@pytest.mark.parametrize("d", ENTRIES)
def test_every_entry_has_a_mutant_beside_its_derivation(d):
    assert d.mutants, f"{d.name}: no mutant; add one to its Derivation's mutants"
    assert all(m.entry == d.name for m in d.mutants), [m.name for m in d.mutants]
    assert {m.name for m in d.mutants} <= set(mutants.mutant_names())


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_is_rejected_by_finite_differences(mutant):
    d = mutant.as_derivation()
    for index, shapes in enumerate(d.shape_sets):
        report = finite_difference_check(d, shapes, index)
        assert not report.passed, f"{mutant.name} passed the finite-difference check:\n{report}"


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_is_rejected_by_the_symbolic_check(mutant):
    """The registry's own ``check_numeric`` (lambdified SymPy Jacobian) on the mutant."""
    d = mutant.as_derivation()
    for index, shapes in enumerate(d.shape_sets):
        results = check_numeric(d, shapes, np.random.default_rng(index))
        errors = {r.wrt: r.max_rel_error for r in results}
        assert not all(r.passed for r in results), \
            f"{mutant.name} passed the symbolic check (relative errors {errors})"
        assert not mutants.symbolic_check(d, shapes, index), mutant.name


@pytest.mark.parametrize("mutant", MUTANTS)
def test_square_shapes_and_all_ones_record_is_true(mutant):
    """What ``slips_square_ones`` claims is what happens."""
    report = mutants.square_ones_check(mutant.as_derivation())
    assert report.passed == mutant.slips_square_ones, (
        f"{mutant.name}: recorded slips_square_ones={mutant.slips_square_ones}, "
        f"observed {report.passed}\n{report}")


@pytest.mark.parametrize("d", ENTRIES)
def test_correct_entry_passes_the_square_all_ones_check_too(d):
    """So a mutant that slips there is the blind spot, not a broken check."""
    report = mutants.square_ones_check(d)
    assert report.passed, str(report)


def test_correct_code_is_never_rejected_over_200_seeds():
    counts = mutants.false_alarms(FALSE_ALARM_SEEDS)
    assert counts["checks"] == FALSE_ALARM_SEEDS * len(REGISTRY)
    assert counts["finite differences"] == 0 and counts["symbolic"] == 0, counts


@pytest.mark.parametrize("d", ENTRIES)
def test_fast_symbolic_check_agrees_with_check_numeric(d):
    """symbolic_check (used 200 times per entry) decides as check_numeric does."""
    for seed in range(3):
        for shapes in d.shape_sets:
            expected = all(r.passed for r in check_numeric(d, shapes,
                                                           np.random.default_rng(seed)))
            assert mutants.symbolic_check(d, shapes, seed) == expected


def test_transposed_weight_gradient_hint_says_transpose():
    result = mutants.run_mutant(mutants.get_mutant("dense_dW_transposed"))
    assert "W: analytic has shape (4, 3)" in result.hint, result.report
    assert "transpose of numeric" in result.hint, result.report


def test_unknown_mutant_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="dense_dW_transposed"):
        mutants.get_mutant("dense_typo")


def test_catalogue_table_for_the_site_is_computed():
    rows = mutants.catalogue_table()
    assert [row["name"] for row in rows] == mutants.mutant_names()
    for row in rows:
        assert row["caught_by"] == ["finite differences", "symbolic"], row
    slipping = {row["name"] for row in rows if row["slips_square_ones"]}
    assert slipping == {m.name for m in mutants.MUTANTS if m.slips_square_ones}
