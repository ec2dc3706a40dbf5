"""Localisation (issue 17): the checker names the wrong layer of a model, or the
wrong step of a user's own chain, by position, class and argument; embedding
indices are looked up, not differentiated."""

import numpy as np
import pytest

import netlib as nl
from derivations.layers.activations import SigmoidDerivativeAppliedToOutput
from netlib.gradcheck import check_layer, check_model, check_steps

SIZES = [(6, 5), (5, 4), (4, 7), (7, 3), (3, 2)]      # five layers, no square weight


def sigma(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_network(sigmoid_class, rng, layout="columns"):
    layers = []
    for n_in, n_out in SIZES:
        layers += [nl.Dense(n_in, n_out, rng=rng, layout=layout), sigmoid_class()]
    return nl.Sequential(layers)


def test_sigma_prime_of_a_network_is_reported_at_its_sigmoid_layers():
    """The 5-layer column-layout network whose backward uses σ'(a) instead of σ'(z):
    every weight fails end to end; layer by layer only the sigmoids do."""
    rng = np.random.default_rng(0)
    model = sigmoid_network(SigmoidDerivativeAppliedToOutput, rng)
    x, target = rng.standard_normal((6, 8)), (rng.random((2, 8)) < 0.5).astype(float)
    report = check_model(model, nl.BinaryCrossEntropy(layout="columns"), x, target)
    assert not report.passed
    assert {c.name for c in report.failures()} >= {f"{2 * i}.W" for i in range(5)}
    wrong = [step.position for step in report.steps if not step.passed]
    assert wrong == [1, 3, 5, 7, 9], report.localisation()
    first = report.first_wrong
    assert (first.position, first.name) == (1, "SigmoidDerivativeAppliedToOutput")
    assert [c.name for c in first.report.failures()] == ["x"]
    assert "wrong point" in first.report["x"].hint, report.localisation()
    text = str(report)
    assert "first wrong: #1 SigmoidDerivativeAppliedToOutput, argument x" in text, text


def test_a_correct_network_localises_to_nothing_and_auto_skips_it():
    rng = np.random.default_rng(1)
    model = sigmoid_network(nl.Sigmoid, rng, layout="rows")
    x, target = rng.standard_normal((8, 6)), rng.standard_normal((8, 2))
    loss = nl.MeanSquaredError()
    assert check_model(model, loss, x, target).steps == []          # passed: not needed
    report = check_model(model, loss, x, target, localise=True)
    assert report.passed and len(report.steps) == 11 and report.first_wrong is None
    assert "every local VJP is right" in str(report)
    with pytest.raises(ValueError, match="expected localise in"):
        check_model(model, loss, x, target, localise="yes")


# -- a user's own network, as (forward, backward) steps ----------------------------

def user_steps(rng, derivative_at_output):
    """Column layout: z = W a + b, a' = σ(z). The wrong backward takes σ' at a'."""
    def dense_forward(x, W, b):
        return W @ x + b[:, None]

    def dense_backward(g, x, W, b):
        return {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)}

    def sigmoid_backward(g, z):
        point = sigma(z) if derivative_at_output else z
        return g * sigma(point) * (1 - sigma(point))

    steps = []
    for n_in, n_out in SIZES:
        params = {"W": rng.standard_normal((n_out, n_in)), "b": rng.standard_normal(n_out)}
        steps += [(dense_forward, dense_backward, params), (sigma, sigmoid_backward)]
    return steps


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_check_steps_names_the_wrong_steps_of_user_code(mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 8))
    report = check_steps(user_steps(rng, derivative_at_output=True), x, mode=mode)
    assert [s.position for s in report.steps if not s.passed] == [1, 3, 5, 7, 9], str(report)
    assert report.first_wrong.name == "sigma"
    assert "wrong point" in report.first_wrong.report["x"].hint, str(report)
    assert str(report).startswith("gradient check of a chain of 10 steps: FAILED at #1 sigma")
    good = check_steps(user_steps(np.random.default_rng(2), False), x, mode=mode)
    assert good.passed, str(good)


def test_check_steps_bad_steps_get_clear_errors():
    with pytest.raises(TypeError, match=r"step #0 as \(forward, backward\)"):
        check_steps([sigma], np.ones(3))
    with pytest.raises(TypeError, match="callables"):
        check_steps([(sigma, 3)], np.ones(3))


# -- embedding: integer indices ----------------------------------------------------

def test_embedding_in_check_layer_and_check_model():
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 5, (4, 3))
    layer = nl.Embedding(5, 2, rng=rng)
    report = check_layer(layer, indices)
    assert report.passed and [c.name for c in report.checks] == ["W"], str(report)
    model = nl.Sequential([nl.Embedding(5, 2, rng=rng), nl.Flatten(), nl.Dense(6, 3, rng=rng)])
    report = check_model(model, nl.MeanSquaredError(), indices, rng.standard_normal((4, 3)),
                         localise=True)
    assert report.passed, str(report)
    assert [c.name for c in report.checks] == ["0.W", "2.W", "2.b"]


def test_embedding_by_assignment_is_caught_and_localised():
    """dW[indices] = g (or +=) drops repeated indices: the user-side mutant."""
    class EmbeddingByAssignment(nl.Embedding):
        def _backward(self, g):
            dW = self.grads["W"]
            dW[...] = 0
            dW[self._indices.ravel()] += g.reshape(-1, self.dim)   # repeats overwrite
            return None

    rng = np.random.default_rng(4)
    indices = np.array([[0, 1, 1], [3, 0, 2]])                     # repeated indices
    assert not check_layer(EmbeddingByAssignment(4, 3, rng=rng), indices).passed
    model = nl.Sequential([EmbeddingByAssignment(4, 3, rng=rng), nl.Flatten(),
                           nl.Dense(9, 2, rng=rng)])
    report = check_model(model, nl.MeanSquaredError(), indices, rng.standard_normal((2, 2)))
    assert report.first_wrong.position == 0 and not report.first_wrong.report["W"].passed


def test_localise_and_user_check_doctests_run():
    import doctest

    import derivations.user_check
    import netlib.gradcheck.localise

    for module in (netlib.gradcheck.localise, derivations.user_check):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted >= 3 and result.failed == 0, (module.__name__, result)
