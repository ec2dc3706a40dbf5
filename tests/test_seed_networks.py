"""Whole-network gradient checks of the five seed networks, in both layouts.

Each seed (``examples/seed_networks.py``) is checked end to end, model and
loss together, by :func:`netlib.gradcheck.check_model` (central differences
in float64 with a random upstream gradient): once in the seed's own layout and
once moved to the other one. A third test shows that a classic wrong
activation gradient inside the same networks fails the same check.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import netlib as nl
from derivations.mutants import get_mutant
from netlib.data import make_synthetic
from netlib.gradcheck import check_gradients, check_model

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:          # examples/ is not an installed package
    sys.path.insert(0, str(ROOT))

from examples import seed_b_by_hand as by_hand  # noqa: E402
from examples.seed_networks import (  # noqa: E402
    SEEDS,
    in_layout,
    loss_value,
    other_layout,
    samples_away_from_kinks,
    seed_e,
    seed_e_model,
    take,
)

#: Seed E's network is checked on a few samples: its 784 × 100 weight
#: matrix makes the check directional, and four samples exercise the batch sums.
SEED_E_CHECK_SAMPLES = 4
#: The mutant checks use a few samples: a failing argument is re-checked
#: entry by entry for the report's hints, one forward pass per entry.
MUTANT_CHECK_SAMPLES = 3


def build(name: str, dtype=np.float64):
    """The seed's setup, ready for a finite-difference check in float64.

    Seed E gets synthetic 784-feature data (the check needs shapes, not
    images) and He-scale weights: at the seed's own 0.01 scale the second
    layer's ReLU inputs are ~0.01 and some fall within a finite-difference
    step of the kink, where no central difference is meaningful.
    """
    if name != "E":
        return SEEDS[name](rng=0)
    data = make_synthetic(60, 12, n_features=784, n_classes=10, rng=0, dtype=dtype)
    setup = seed_e(data, rng=0)
    return replace(setup, model=seed_e_model(784, 10, rng=1, dtype=dtype, init="he"))


def check_point(setup):
    """Inputs and targets to check at: samples away from ReLU kinks only."""
    keep = samples_away_from_kinks(setup.model, setup.x)
    if setup.name == "E":
        keep = keep[:SEED_E_CHECK_SAMPLES]
    n = setup.x.shape[setup.model.batch_axis]
    assert len(keep) >= min(n, 2), f"seed {setup.name}: only {len(keep)} samples away from kinks"
    return take(setup.x, keep, setup.layout), take(setup.target, keep, setup.layout)


def in_which_layout(setup, which: str):
    return setup if which == "own" else other_layout(setup)


CASES = [(name, which) for name in SEEDS for which in ("own", "other")]


@pytest.mark.parametrize(("name", "which"), CASES)
def test_whole_network_gradients_match_finite_differences(name, which):
    setup = in_which_layout(build(name), which)
    x, target = check_point(setup)
    report = check_model(setup.model, setup.loss, x, target, rng=0)
    expected = ["x", *setup.model.parameters()]
    assert [c.name for c in report.checks] == expected, report
    assert report.passed, f"seed {name} in {setup.layout} layout:\n{report}"


@pytest.mark.parametrize("name", list(SEEDS))
def test_the_other_layout_is_the_transposed_network(name):
    """Same loss, and every gradient the transpose of the seed's own."""
    own = build(name)
    other = other_layout(own)
    assert other.layout != own.layout
    x, target = check_point(own)
    grads = []
    for setup, (xs, ts) in ((own, (x, target)), (other, (x.T, target.T if target.ndim == 2
                                                          else target))):
        value = setup.loss.forward(setup.model.forward(xs), ts)
        dx = setup.model.backward(setup.loss.backward())
        grads.append((value, dx, {k: v.copy() for k, v in setup.model.gradients().items()}))
    (own_value, own_dx, own_grads), (other_value, other_dx, other_grads) = grads
    np.testing.assert_allclose(other_value, own_value, rtol=1e-12,
                               err_msg=f"seed {name}: loss in the two layouts")
    np.testing.assert_allclose(other_dx.T, own_dx, rtol=1e-10, atol=1e-14,
                               err_msg=f"seed {name}: dL/dx (other layout, transposed)")
    assert other_grads.keys() == own_grads.keys()
    for key, value in own_grads.items():
        moved = other_grads[key].T if value.ndim == 2 else other_grads[key]
        np.testing.assert_allclose(moved, value, rtol=1e-10, atol=1e-14,
                                   err_msg=f"seed {name}: {key} (other layout, transposed)")


def test_in_layout_round_trip_gives_back_the_same_network():
    setup = build("B")
    back = in_layout(other_layout(setup), setup.layout)
    assert back.layout == setup.layout
    for key, value in setup.model.parameters().items():
        np.testing.assert_array_equal(back.model.parameters()[key], value, err_msg=key)
    assert loss_value(back) == pytest.approx(loss_value(setup), rel=1e-14)


# -- the check catches a wrong gradient inside these networks ------------------------------
class ReLUMaskFromUpstream(nl.ReLU):
    """Wrong: the ReLU mask taken from the upstream gradient's sign."""

    def _backward(self, g):
        return g * (g > 0)


# The sigmoid mistake is the catalogue's own (the slope y(1 - y) taken at the
# input); the ReLU one is particular to this test (the mask taken from g).
MUTANTS = {nl.Sigmoid: get_mutant("sigmoid_derivative_of_preactivation").wrong,
           nl.ReLU: ReLUMaskFromUpstream}


@pytest.mark.parametrize(("name", "which"), CASES)
def test_a_wrong_activation_gradient_fails_the_check(name, which):
    """Break the first activation only: exactly what lies below it must fail."""
    setup = in_which_layout(build(name), which)
    x, target = check_point(setup)
    few = np.arange(min(MUTANT_CHECK_SAMPLES, x.shape[setup.model.batch_axis]))
    x, target = take(x, few, setup.layout), take(target, few, setup.layout)
    layers = list(setup.model.layers)
    first = next(i for i, layer in enumerate(layers) if type(layer) in MUTANTS)
    layers[first] = MUTANTS[type(layers[first])]()
    report = check_model(nl.Sequential(layers), setup.loss, x, target, rng=0)
    failed = {c.name for c in report.failures()}
    below = {"x", *(f"{i}.{key}" for i in range(first) for key in layers[i].params)}
    assert failed == below, (f"seed {name}: expected exactly {sorted(below)} to fail with "
                             f"a wrong {type(setup.model[first]).__name__} gradient\n{report}")


# -- seed B's backward pass written out by hand --------------------------------------------
def _seed_b_by_hand_problem(layout: str):
    """Standard-normal weights (gradients of order 1 in every layer), non-square shapes."""
    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(4),
              "W2": rng.standard_normal((6, 4)), "b2": rng.standard_normal(6),
              "W3": rng.standard_normal((2, 6)), "b3": rng.standard_normal(2)}
    x, target = rng.random((3, 5)), rng.standard_normal((2, 5))
    if layout == "rows":
        params = {k: v.T if v.ndim == 2 else v for k, v in params.items()}
        return by_hand.backward_rows, params, x.T, target.T
    return by_hand.backward_columns, params, x, target


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_seed_b_by_hand_matches_finite_differences(layout):
    backward, params, x, target = _seed_b_by_hand_problem(layout)

    def loss_of(x, **p):
        return np.asarray(backward(p, x, target)["loss"])

    def grads_of(g, x, **p):
        found = backward(p, x, target)
        return {name: g * found[name] for name in ("x", *p)}

    report = check_gradients(loss_of, grads_of, {"x": x, **params}, rng=0)
    assert report.passed, f"seed B by hand, {layout} layout:\n{report}"


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_seed_b_by_hand_equals_netlib(layout):
    setup = build("B")
    setup = setup if layout == setup.layout else other_layout(setup)
    backward = by_hand.backward_columns if layout == "columns" else by_hand.backward_rows
    params = {f"{p}{i}": setup.model[2 * (i - 1)].params[p] for i in (1, 2, 3) for p in "Wb"}
    found = backward(params, setup.x, setup.target)
    value = setup.loss.forward(setup.model.forward(setup.x), setup.target)
    dx = setup.model.backward(setup.loss.backward())
    np.testing.assert_allclose(found["loss"], value, rtol=1e-14)
    np.testing.assert_allclose(found["x"], dx, rtol=1e-12, atol=1e-30)
    for name, grad in setup.model.gradients().items():
        index, p = name.split(".")
        mine = found[f"{p}{int(index) // 2 + 1}"]
        np.testing.assert_allclose(mine, grad, rtol=1e-12, atol=1e-30,
                                   err_msg=f"{name}: by hand (actual) vs netlib (desired)")


def test_seed_b_rule_tags_name_registry_rules_and_pair_up():
    from derivations.registry import get

    columns = by_hand.rule_lines(by_hand.backward_columns)
    rows = by_hand.rule_lines(by_hand.backward_rows)
    assert len(columns) == len(rows) == 12
    for (col_code, col_entry, col_wrt), (row_code, row_entry, row_wrt) in zip(
            columns, rows, strict=True):
        assert col_wrt == row_wrt, (col_code, row_code)
        for entry, wrt in ((col_entry, col_wrt), (row_entry, row_wrt)):
            assert wrt in get(entry).inputs, f"{entry} has no argument {wrt}"
        # A dense rule is the column entry in one function and the row one in the other.
        if col_entry.startswith("dense"):
            assert (col_entry, row_entry) == ("dense_columns", "dense"), (col_code, row_code)
        else:
            assert col_entry == row_entry, (col_code, row_code)
