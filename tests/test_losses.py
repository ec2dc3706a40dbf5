"""Loss values against their definitions; reductions; where 1/batch lives."""

import numpy as np
import pytest

import netlib as nl

RNG = np.random.default_rng(5)
N, K = 6, 4   # batch and features: different, so a wrong axis cannot hide


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_mse_is_half_squared_error_summed_over_features_mean_over_batch():
    pred, target = RNG.standard_normal((N, K)), RNG.standard_normal((N, K))
    expected = np.mean([0.5 * np.sum((pred[n] - target[n]) ** 2) for n in range(N)])
    assert nl.MeanSquaredError().forward(pred, target) == pytest.approx(expected, rel=1e-14)


def test_bce_matches_definition():
    p, t = RNG.uniform(0.05, 0.95, (N, K)), RNG.integers(0, 2, (N, K)).astype(float)
    expected = -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)) / N
    assert nl.BinaryCrossEntropy().forward(p, t) == pytest.approx(expected, rel=1e-13)


def test_bce_with_logits_equals_bce_of_sigmoid():
    z, t = RNG.standard_normal((N, K)) * 3, RNG.uniform(0, 1, (N, K))
    with_logits = nl.BinaryCrossEntropyWithLogits()
    on_probabilities = nl.BinaryCrossEntropy()
    assert with_logits.forward(z, t) == pytest.approx(on_probabilities.forward(sigmoid(z), t),
                                                      rel=1e-12)


def test_softmax_cross_entropy_labels_and_onehot_agree_and_match_definition():
    z, labels = RNG.standard_normal((N, K)) * 2, RNG.integers(0, K, N)
    onehot = np.eye(K)[labels]
    expected = np.mean([-np.log(np.exp(z[n, labels[n]]) / np.exp(z[n]).sum()) for n in range(N)])
    loss = nl.SoftmaxCrossEntropy()
    assert loss.forward(z, labels) == pytest.approx(expected, rel=1e-13)
    grad_labels = loss.backward()
    assert loss.forward(z, onehot) == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(loss.backward(), grad_labels, rtol=1e-15)


LOSS_CASES = [
    (nl.MeanSquaredError, lambda: RNG.standard_normal((N, K)),
     lambda: RNG.standard_normal((N, K))),
    (nl.BinaryCrossEntropy, lambda: RNG.uniform(0.1, 0.9, (N, K)),
     lambda: RNG.integers(0, 2, (N, K)).astype(float)),
    (nl.BinaryCrossEntropyWithLogits, lambda: RNG.standard_normal((N, K)),
     lambda: RNG.integers(0, 2, (N, K)).astype(float)),
    (nl.SoftmaxCrossEntropy, lambda: RNG.standard_normal((N, K)), lambda: RNG.integers(0, K, N)),
]


@pytest.mark.parametrize(("make", "pred", "target"), LOSS_CASES)
def test_mean_reduction_is_sum_divided_by_batch_once(make, pred, target):
    p, t = pred(), target()
    mean_loss, sum_loss = make(), make(reduction="sum")
    assert mean_loss.forward(p, t) * N == pytest.approx(sum_loss.forward(p, t), rel=1e-13)
    np.testing.assert_allclose(mean_loss.backward() * N, sum_loss.backward(), rtol=1e-13)


@pytest.mark.parametrize(("make", "pred", "target"), LOSS_CASES)
def test_backward_scales_with_the_upstream_scalar(make, pred, target):
    loss = make()
    loss.forward(pred(), target())
    np.testing.assert_allclose(loss.backward(-2.5), -2.5 * loss.backward(), rtol=1e-15)


def test_accuracy_counts_correct_classes():
    z = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    assert nl.SoftmaxCrossEntropy().accuracy(z, np.array([0, 1, 1, 0])) == 0.75
    assert nl.BinaryCrossEntropyWithLogits().accuracy(
        np.array([[1.0], [-1.0]]), np.array([[1.0], [1.0]])) == 0.5
    assert nl.MeanSquaredError().accuracy(z, z) is None


def test_bce_clips_so_a_certain_wrong_prediction_stays_finite():
    loss = nl.BinaryCrossEntropy()
    value = loss.forward(np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]]))
    grad = loss.backward()
    assert np.isfinite(value) and value > 30     # -log(eps) ≈ 36 per sample
    assert np.all(np.isfinite(grad))
    assert grad[0, 0] < 0 < grad[1, 0]           # pushes each prediction the right way
