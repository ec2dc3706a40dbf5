"""The public gradient checker (netlib.gradcheck): it passes correct code and
rejects wrong code, with a report that says what is wrong.

The checker is tested here on plain functions and generic models; the registry
suite (test_registry.py) and the mutation catalogue (test_mutants.py) apply it
to every layer.
"""

import doctest

import numpy as np
import pytest

import netlib as nl
from derivations.mutants import get_mutant
from netlib import gradcheck
from netlib.gradcheck import check_gradients, check_layer, check_model, relative_error

MODES = ["full", "directional"]


# -- a user's own column-layout dense layer (seed B's layout), and wrong variants ------

def dense_forward(x, W, b):
    return W @ x + b[:, None]                 # x (in, batch), W (out, in)


def dense_backward(g, x, W, b):
    return {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)}


WRONG_DENSE = {
    # name: (backward, argument that must fail, words the hint must contain)
    "dW transposed": (lambda g, x, W, b: {"x": W.T @ g, "W": x @ g.T, "b": g.sum(axis=1)},
                      "W", "transpose"),
    "dW sign": (lambda g, x, W, b: {"x": W.T @ g, "W": -(g @ x.T), "b": g.sum(axis=1)},
                "W", "sign error"),
    "dW divided by batch": (lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T / x.shape[1],
                                                "b": g.sum(axis=1)}, "W", "1/batch"),
    "db over wrong axis": (lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=0)},
                           "b", "summed over the wrong axis"),
    "db not summed": (lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T, "b": g},
                      "b", "summed over the batch"),
    "dx doubled": (lambda g, x, W, b: {"x": 2 * W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)},
                   "x", "2 × numeric"),
    "dx forgotten": (lambda g, x, W, b: {"W": g @ x.T, "b": g.sum(axis=1)},
                     "x", "no gradient returned"),
}


def dense_inputs(seed, batch=5, n_in=3, n_out=2):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((n_in, batch)), "W": rng.standard_normal((n_out, n_in)),
            "b": rng.standard_normal(n_out)}


def test_module_doctests_run():
    """The five-line example of the module docstring runs (and its failure example)."""
    result = doctest.testmod(gradcheck, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0, result


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(5))
def test_correct_user_code_passes(mode, seed):
    report = check_gradients(dense_forward, dense_backward, dense_inputs(seed), rng=seed,
                             mode=mode)
    report.raise_if_failed()
    assert [c.name for c in report.checks] == ["x", "W", "b"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mistake", sorted(WRONG_DENSE))
def test_wrong_user_code_is_rejected_with_a_hint(mode, mistake):
    backward, argument, words = WRONG_DENSE[mistake]
    report = check_gradients(dense_forward, backward, dense_inputs(1), mode=mode)
    failed = [c.name for c in report.failures()]
    assert failed == [argument], f"{mistake}: failed {failed}\n{report}"
    if mode == "full" or "shape" in report[argument].hint or words == "no gradient returned":
        assert words in report[argument].hint, f"{mistake}:\n{report}"


def test_transposed_dW_report_names_parameter_shows_values_and_says_transpose():
    """The issue's acceptance test: a transposed dW in a netlib layer."""
    TransposedWeightGradient = get_mutant("dense_dW_transposed").wrong   # dW = Gᵀ X

    layer = TransposedWeightGradient.from_params(np.arange(6.0).reshape(3, 2) / 7,
                                                 np.array([0.5, -0.25]))
    report = check_layer(layer, (4, 3), rng=3)
    text = str(report)
    assert not report.passed and report["W"].passed is False
    assert report["x"].passed and report["b"].passed, text
    assert "hint for W" in text and "transpose of numeric" in text, text
    assert "W, analytic | numeric:" in text, text
    # Both arrays are printed: every entry of the numeric gradient appears.
    numeric = report["W"].numeric_array
    np.testing.assert_allclose(report["W"].analytic_array, numeric.T, rtol=1e-8, atol=1e-10)
    for value in numeric.ravel():
        assert f"{value:.6f}"[:-1] in text, text


def test_square_transposed_dW_is_caught_by_values():
    """With square W there is no shape error; the values and the hint give it away."""
    TransposedWeightGradient = get_mutant("dense_dW_transposed").wrong

    layer = TransposedWeightGradient(3, 3, rng=np.random.default_rng(0))
    report = check_layer(layer, (4, 3))
    assert not report["W"].passed
    assert "analytic equals numeric transposed" in report["W"].hint, str(report)
    assert report["W"].index is not None
    index = report["W"].index
    print_values = (report["W"].analytic, report["W"].numeric)
    assert print_values == (report["W"].analytic_array[index],
                            report["W"].numeric_array[index])


def test_tolerance_separates_rounding_from_errors():
    """A relative error of 1e-6 on one entry fails; rounding-size noise (1e-14) passes."""
    inputs = dense_inputs(2, batch=6, n_in=4, n_out=3)

    def nudged(scale):
        def backward(g, x, W, b):
            grads = dense_backward(g, x, W, b)
            grads["W"] = grads["W"].copy()
            grads["W"][1, 2] *= 1 + scale
            return grads
        return backward

    for mode in MODES:
        bad = check_gradients(dense_forward, nudged(1e-6), inputs, mode=mode)
        good = check_gradients(dense_forward, nudged(1e-14), inputs, mode=mode)
        assert not bad["W"].passed and bad["x"].passed, str(bad)
        assert good.passed, str(good)
    assert bad["W"].index == (1, 2) or bad["W"].mode.startswith("directional")


def test_tolerance_is_the_stated_formula():
    """The tolerance printed is K eps^(2/3) (Gamma + F/s) of the docstring."""
    inputs = dense_inputs(4)
    report = check_gradients(dense_forward, dense_backward, inputs, mode="full", rng=7)
    u = np.random.default_rng(7).standard_normal((2, 5))
    F = np.abs(u * dense_forward(**inputs)).sum()
    c = report["W"]
    gamma = max(np.abs(c.analytic_array).max(), np.abs(c.numeric_array).max())
    s = max(1.0, abs(inputs["W"][c.index]))
    expected = 100 * np.finfo(float).eps ** (2 / 3) * (gamma + F / s)
    np.testing.assert_allclose(c.tolerance, expected, rtol=1e-12)


def test_full_jacobian_matches_the_known_jacobian():
    """In full mode the finite-difference Jacobian of a linear map is its matrix."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 3))
    report = check_gradients(lambda x: A @ x, lambda g, x: {"x": A.T @ g},
                             {"x": rng.standard_normal(3)}, mode="full")
    assert report.passed
    np.testing.assert_allclose(report["x"].jacobian, A, rtol=1e-9, atol=1e-10)


def test_directional_mode_on_large_arguments_and_auto_choice():
    layer = nl.Dense(300, 40, rng=np.random.default_rng(0))
    report = check_layer(layer, (20, 300))
    modes = {c.name: c.mode for c in report.checks}
    assert report.passed, str(report)
    assert modes == {"x": "directional", "W": "directional", "b": "full"}


def test_directional_failure_is_located_by_the_full_jacobian():
    class HalfWeightGradient(nl.Dense):
        def _backward(self, g):
            dx = super()._backward(g)
            self.grads["W"] = self.grads["W"] * 0.5
            return dx

    report = check_layer(HalfWeightGradient(30, 20, rng=np.random.default_rng(1)), (8, 30))
    assert not report["W"].passed and report["W"].mode == "directional→full"
    assert "analytic = 0.5 × numeric" in report["W"].hint, str(report)


def test_kink_is_reported_not_hidden():
    """At x = 0 a ReLU's difference quotient is meaningless; the report says why."""
    report = check_layer(nl.ReLU(), np.array([[0.0, 1.5, -2.0]]), rng=0)
    assert not report.passed
    assert "kink" in report["x"].hint and report["x"].index == (0, 0), str(report)
    # Sampled away from kinks (a shape instead of an array), ReLU passes.
    assert check_layer(nl.ReLU(), (40, 30)).passed


def test_unwritten_gradient_is_not_taken_from_an_earlier_call():
    class ForgetsBias(nl.Dense):
        def _backward(self, g):
            x, W = self._x, self.params["W"]
            self.grads["W"] = x.T @ g
            return g @ W.T

    layer = ForgetsBias(3, 2, rng=np.random.default_rng(0))
    layer.forward(np.ones((4, 3)))
    layer.grads["b"][...] = 1.0                 # a stale value from somewhere
    report = check_layer(layer, (4, 3))
    assert not report["b"].passed and "non-finite" in report["b"].hint, str(report)


def test_float32_layer_is_checked_in_float64_and_left_untouched():
    layer = nl.Dense(4, 3, rng=np.random.default_rng(2), dtype=np.float32)
    before = {k: v.copy() for k, v in layer.params.items()}
    report = check_layer(layer, (5, 4))
    assert report.passed, str(report)
    for key, value in layer.params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[key])


def test_float32_composite_layer_keeps_its_grads_shared_with_its_part():
    """Residual shares its inner layer's grads dict; the float64 copy must too."""
    inner = nl.Dense(3, 3, rng=np.random.default_rng(5), dtype=np.float32)
    report = check_layer(nl.Residual(inner), (4, 3))
    assert report.passed, str(report)


def test_upstream_all_ones_is_what_hides_a_wrong_bias_axis():
    """Why the checker draws a random upstream gradient: an all-ones g with
    square shapes lets a bias summed over the wrong axis through."""
    def wrong_axis(g, x, W, b):
        return {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=0)}

    square = dense_inputs(6, batch=3, n_in=3, n_out=3)
    hidden = check_gradients(dense_forward, wrong_axis, square, upstream=np.ones((3, 3)))
    caught = check_gradients(dense_forward, wrong_axis, square)
    assert hidden.passed, str(hidden)
    assert not caught["b"].passed, str(caught)


def test_relative_error_uses_one_scale_and_tells_a_wrong_value_from_rounding():
    """max|a - e| / max|e|: a wrong entry where e is 0 still counts, against the
    array's scale; rounding-size differences stay near eps."""
    expected = np.array([[1.0, -4.0], [0.0, 2.0]])
    wrong = expected.copy()
    wrong[1, 0] = 0.4                              # wrong where the expected value is 0
    assert relative_error(expected.copy(), expected) == 0.0
    assert relative_error(wrong, expected) == pytest.approx(0.4 / 4, rel=1e-15)
    assert relative_error(expected * (1 + 1e-15), expected) < 1e-14
    assert relative_error(expected.T, expected) == pytest.approx(4 / 4)   # a transpose
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([0.0, 1e-300, 0.0], np.zeros(3)) == np.inf
    assert relative_error(np.ones((2, 3)), np.ones((3, 2))) == np.inf     # wrong shape


# -- whole models, both layouts, each loss ------------------------------------------

def loss_cases():
    """(loss, output activation, target maker) for every netlib loss."""
    return [
        ("mse", nl.MeanSquaredError, None, lambda rng, shape: rng.standard_normal(shape)),
        ("bce", nl.BinaryCrossEntropy, nl.Sigmoid,
         lambda rng, shape: (rng.random(shape) < 0.5).astype(float)),
        ("bce_logits", nl.BinaryCrossEntropyWithLogits, None,
         lambda rng, shape: rng.random(shape)),
        ("sce_onehot", nl.SoftmaxCrossEntropy, None,
         lambda rng, shape: rng.dirichlet(np.ones(shape[-1]), size=shape[0])),
        ("sce_labels", nl.SoftmaxCrossEntropy, None, None),
    ]


def build_model(layout, rng, output_activation, hidden=nl.Tanh):
    layers = [nl.Dense(3, 5, rng=rng, layout=layout), hidden(),
              nl.Dense(5, 4, rng=rng, layout=layout), nl.ReLU(),
              nl.Dense(4, 2, rng=rng, layout=layout)]
    for layer in layers[::2]:
        layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape)
    if output_activation is not None:
        layers.append(output_activation())
    return nl.Sequential(layers)


@pytest.mark.parametrize("layout", ["rows", "columns"])
@pytest.mark.parametrize("case", loss_cases(), ids=lambda case: case[0])
def test_check_model_passes_correct_models(layout, case):
    _, loss_class, activation, make_target = case
    rng = np.random.default_rng(11)
    model = build_model(layout, rng, activation)
    batch = 6
    rows_shape = (batch, 2)
    if make_target is None:
        target = rng.integers(0, 2, batch)
    else:
        target = make_target(rng, rows_shape)
        target = target if layout == "rows" else target.T
    x = rng.standard_normal((batch, 3))
    x = x if layout == "rows" else x.T
    report = check_model(model, loss_class(layout=layout), x, target, rng=1)
    assert report.passed, str(report)
    assert [c.name for c in report.checks] == ["x", "0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_check_model_rejects_a_wrong_layer_deep_inside(layout):
    """One wrong layer in the middle: its parameter and everything before it fail."""
    SigmoidOfPreactivation = get_mutant("sigmoid_derivative_of_preactivation").wrong

    rng = np.random.default_rng(3)
    model = build_model(layout, rng, None, hidden=SigmoidOfPreactivation)
    x = rng.standard_normal((6, 3) if layout == "rows" else (3, 6))
    target = rng.standard_normal((6, 2) if layout == "rows" else (2, 6))
    report = check_model(model, nl.MeanSquaredError(layout=layout), x, target)
    failed = [c.name for c in report.failures()]
    assert failed == ["x", "0.W", "0.b"], str(report)


@pytest.mark.parametrize("wrong", [False, True], ids=["correct", "dW transposed"])
def test_check_model_and_check_layer_agree_on_a_one_layer_model(wrong):
    """A one-layer model under a loss is the layer with upstream g = dL/dY: the two
    checks give the same verdicts and the same gradients (up to check_model's
    random scalar upstream)."""
    cls = get_mutant("dense_dW_transposed").wrong if wrong else nl.Dense
    layer = cls(3, 3, rng=np.random.default_rng(2))    # square: a transpose is a value error
    rng = np.random.default_rng(12)
    x, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss = nl.MeanSquaredError()
    loss.forward(layer.forward(x), target)
    g = loss.backward(1.0)                              # dL/dY
    by_layer = check_layer(layer, x, upstream=g, mode="full")
    by_model = check_model(nl.Sequential([layer]), loss, x, target, mode="full")
    assert [c.name for c in by_model.checks] == ["x", "0.W", "0.b"]
    names = {"x": "x", "W": "0.W", "b": "0.b"}
    assert {names[c.name]: c.passed for c in by_layer.checks} == \
           {c.name: c.passed for c in by_model.checks}, f"{by_layer}\n{by_model}"
    assert by_model.passed is not wrong and by_model["0.W"].passed is not wrong
    # check_model's upstream is one random scalar u: its gradients are u times the layer's.
    u = by_model["x"].analytic_array.flat[0] / by_layer["x"].analytic_array.flat[0]
    for name, model_name in names.items():
        mine, theirs = by_layer[name], by_model[model_name]
        assert relative_error(theirs.analytic_array, u * mine.analytic_array) < 1e-12
        assert relative_error(theirs.numeric_array, u * mine.numeric_array) < 1e-8


def test_check_model_catches_a_loss_missing_its_mean():
    class SummedMSE(nl.MeanSquaredError):
        def _value_and_grad(self, pred, target):
            value, grad = super()._value_and_grad(pred, target)
            return value, grad * pred.shape[0]     # undoes the 1/batch the base applies

    rng = np.random.default_rng(4)
    model = build_model("rows", rng, None)
    report = check_model(model, SummedMSE(), rng.standard_normal((7, 3)),
                         rng.standard_normal((7, 2)), mode="full")
    assert not report["4.W"].passed
    assert "a missing 1/batch (7 is the size of an axis" in report["4.W"].hint, str(report)


# -- clear errors -----------------------------------------------------------------------

def test_bad_arguments_get_clear_errors():
    inputs = dense_inputs(0)
    with pytest.raises(ValueError, match="expected mode in"):
        check_gradients(dense_forward, dense_backward, inputs, mode="fast")
    with pytest.raises(ValueError, match=r"upstream gradient of the output's shape \(2, 5\)"):
        check_gradients(dense_forward, dense_backward, inputs, upstream=np.ones((5, 2)))
    with pytest.raises(KeyError, match="not among the inputs"):
        check_gradients(dense_forward, dense_backward, inputs, wrt=["w"])
    with pytest.raises(TypeError, match="expected x as a real numeric array"):
        check_gradients(dense_forward, dense_backward, {**inputs, "x": np.array(["a"])})
    noise = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not deterministic"):
        check_gradients(lambda x: x + noise.standard_normal(x.shape), lambda g, x: g,
                        {"x": np.ones(3)})


def test_backward_may_return_a_tuple_and_constants_are_not_differentiated():
    rng = np.random.default_rng(8)

    def loss(pred, target):
        return 0.5 * np.sum((pred - target) ** 2) / pred.shape[0]

    def loss_backward(g, pred, target):
        return (g * (pred - target) / pred.shape[0],)

    inputs = {"pred": rng.standard_normal((4, 3)), "target": rng.standard_normal((4, 3))}
    report = check_gradients(loss, loss_backward, inputs, wrt=["pred"])
    assert report.passed and [c.name for c in report.checks] == ["pred"], str(report)


def test_diagonal_only_jacobian_is_named():
    """A softmax backward that keeps y(1 - y) only: the hint names the missing coupling."""
    def softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def diagonal_only(g, x):
        y = softmax(x)
        return {"x": g * y * (1 - y)}

    x = np.random.default_rng(9).standard_normal((2, 5))
    report = check_gradients(softmax, diagonal_only, {"x": x})
    assert not report.passed
    assert "only the diagonal of the Jacobian" in report["x"].hint, str(report)
