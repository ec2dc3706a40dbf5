"""The checker never cries wolf (issue 17): differences that know their own error,
steps that stay in the domain, kinks flagged only where they are, hints only for
real mistakes, and a report whose error and tolerance share units."""

import numpy as np
import pytest

import netlib as nl
from netlib.gradcheck import check_gradients, check_layer
from netlib.gradcheck.ridders import kink_test, ridders

SEEDS = 1000


def sinh(x):
    return np.sinh(x)


def bce(p, t):
    """A user's binary cross-entropy, mean over every entry."""
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


def bce_backward(g, p, t):
    return {"p": g * (p - t) / (p * (1 - p)) / p.size}


WRONG_BCE = {
    "no 1/N": lambda g, p, t: {"p": g * (p - t) / (p * (1 - p))},
    "sign": lambda g, p, t: {"p": -g * (p - t) / (p * (1 - p)) / p.size},
    "p(1-p) forgotten": lambda g, p, t: {"p": g * (p - t) / p.size},
    "1 - p for p": lambda g, p, t: {"p": g * (p - t) / (1 - p) / p.size},
}


def probabilities(kind, rng, shape=(4, 3)):
    if kind == "uniform":
        return rng.uniform(0.001, 0.999, shape)
    # sigmoid(N(0, 4²)) clipped: probabilities as a confident network gives them.
    return np.clip(1 / (1 + np.exp(-4 * rng.standard_normal(shape))), 1e-6, 1 - 1e-6)


def bce_point(kind, seed):
    rng = np.random.default_rng(seed)
    p = probabilities(kind, rng)
    return {"p": p, "t": (rng.random(p.shape) < 0.5).astype(float)}


@pytest.mark.parametrize("kind", ["uniform", "sigmoid"])
def test_correct_bce_gives_no_false_alarm_over_a_thousand_seeds(kind):
    failed = [seed for seed in range(SEEDS)
              if not check_gradients(bce, bce_backward, bce_point(kind, seed), wrt=["p"],
                                     rng=seed).passed]
    assert failed == [], f"{len(failed)} false alarms, e.g. seed {failed[:1]}"


@pytest.mark.parametrize("kind", ["uniform", "sigmoid"])
@pytest.mark.parametrize("mistake", sorted(WRONG_BCE))
def test_wrong_bce_is_still_caught_at_the_same_points(kind, mistake):
    caught = [not check_gradients(bce, WRONG_BCE[mistake], bce_point(kind, seed), wrt=["p"],
                                  rng=seed).passed for seed in range(50)]
    assert all(caught), f"{mistake}: missed at seeds {np.flatnonzero(~np.array(caught))}"


def test_netlib_bce_near_the_ends_passes_and_a_nudged_gradient_fails():
    """netlib's loss refuses p outside [0, 1]: the step shrinks instead of crashing."""
    rng = np.random.default_rng(5)
    p = np.array([[1e-6, 0.3, 1 - 1e-6], [0.999, 2e-4, 0.5]])
    t = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    assert check_layer(nl.BinaryCrossEntropy(), p, target=t, rng=rng).passed

    def nudged(g, p, t):
        grad = bce_backward(g, p, t)["p"].copy()
        grad[1, 1] *= 1 + 1e-6          # the largest entry, wrong by one part in a million
        return {"p": grad}

    report = check_gradients(bce, nudged, {"p": p, "t": t}, wrt=["p"])
    assert not report.passed and report["p"].index == (1, 1), str(report)


def test_bounds_keep_steps_inside_and_clear_errors():
    def log_forward(p):
        return np.log(p)

    def log_backward(g, p):
        return g / p

    p = np.array([1e-7, 0.5, 3.0])
    assert check_gradients(log_forward, log_backward, {"p": p}, bounds={"p": (0, np.inf)}).passed
    assert check_gradients(log_forward, log_backward, {"p": p}).passed       # NaN shrinks too
    with pytest.raises(ValueError, match="on or outside the bounds"):
        check_gradients(log_forward, log_backward, {"p": p}, bounds={"p": (0.2, 1)})
    with pytest.raises(ValueError, match=r"name -> \(low, high\)"):
        check_gradients(log_forward, log_backward, {"p": p}, bounds={"p": (1, 0)})


def test_ridders_knows_its_error_and_kinks_are_told_from_smooth_functions():
    value, error, _ = ridders(np.exp, 0.5)
    assert abs(value - 1.0) <= max(error, 1e-14) and error < 1e-10
    assert kink_test(np.abs, 1e-5, 1e-16) > 1.9                  # |t| at 0: jump of 2
    assert kink_test(lambda t: np.abs(t - 3e-7), 1e-5, 1e-16) > 1   # kink within the step
    assert kink_test(np.cosh, 1e-5, 1e-16) == 0.0                 # smooth, curved
    assert kink_test(lambda t: 1e8 * np.sin(t), 1e-5, 1e-8) == 0.0


def test_no_hint_from_noise_and_no_kink_for_smooth_functions():
    """A smooth function with a gradient wrong by a tiny relative amount fails
    without a "factor 1" or "kink" story; a kink is named where there is one."""
    x = np.random.default_rng(6).standard_normal((3, 4))

    def nudged(g, x):
        return {"x": g * np.cosh(x) * (1 + 1e-7)}

    report = check_gradients(sinh, nudged, {"x": x})
    assert not report.passed and report["x"].hint == "", str(report)
    relu_at_zero = check_layer(nl.ReLU(), np.array([[0.0, 1.5, -2.0]]))
    assert "kink" in relu_at_zero["x"].hint


def test_forgotten_wrt_and_unknown_keys_are_named():
    rng = np.random.default_rng(7)
    inputs = {"x": rng.standard_normal((3, 5)), "W": rng.standard_normal((2, 3)),
              "t": rng.standard_normal((2, 5))}

    def loss(x, W, t):
        return 0.5 * np.sum((W @ x - t) ** 2)

    def backward(g, x, W, t):
        r = W @ x - t
        return {"x": g * W.T @ r, "dW": g * r @ x.T}

    report = check_gradients(loss, backward, inputs)
    assert "unknown key 'dW'" in report["W"].hint and "'W'" in report["W"].hint, str(report)
    assert "pass wrt=" in report["t"].hint, str(report)
    named = check_gradients(loss, backward, inputs, wrt=["x", "W"])
    assert "wrt=" not in named["W"].hint and "unknown key 'dW'" in named["W"].hint


def test_report_prints_error_and_tolerance_in_the_same_units_with_the_margin():
    x = np.random.default_rng(8).standard_normal((2, 3))
    report = check_gradients(sinh, lambda g, x: {"x": 2 * g * np.cosh(x)}, {"x": x})
    text = str(report)
    assert "error = |analytic − numeric|" in text and "margin = error / tolerance" in text
    header = text.splitlines()[3].split()
    assert header[-4:] == ["error", "tolerance", "margin", "ok"], text
    row = report["x"]
    assert row.error == pytest.approx(abs(row.analytic - row.numeric))
    assert row.margin == pytest.approx(row.error / row.tolerance) and row.margin > 1
    assert f"{row.margin:.2g}" in text.splitlines()[4]
