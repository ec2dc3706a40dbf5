"""Optimizers: one step against the update rule, in place, and convergence."""

import numpy as np
import pytest

import netlib as nl

RNG = np.random.default_rng(11)


def test_sgd_step_is_parameter_minus_lr_times_gradient_in_place():
    param, grad = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    expected = param - 0.1 * grad
    params = {"W": param}
    nl.SGD(lr=0.1).step(params, {"W": grad})
    assert params["W"] is param                       # same array, changed in place
    np.testing.assert_allclose(param, expected, rtol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_two_steps_follow_the_velocity_rule(nesterov):
    param = RNG.standard_normal(4)
    g1, g2 = RNG.standard_normal(4), RNG.standard_normal(4)
    lr, mu = 0.05, 0.8
    v1 = -lr * g1
    p1 = param + (mu * v1 - lr * g1 if nesterov else v1)
    v2 = mu * v1 - lr * g2
    p2 = p1 + (mu * v2 - lr * g2 if nesterov else v2)
    opt, params = nl.Momentum(lr, momentum=mu, nesterov=nesterov), {"w": param.copy()}
    opt.step(params, {"w": g1})
    opt.step(params, {"w": g2})
    np.testing.assert_allclose(params["w"], p2, rtol=1e-14)


def test_adam_three_steps_follow_the_bias_corrected_rule():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    param = RNG.standard_normal(5)
    grads = [RNG.standard_normal(5) for _ in range(3)]
    expected, m, v = param.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        expected -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    opt, params = nl.Adam(lr, b1, b2, eps), {"w": param.copy()}
    for g in grads:
        opt.step(params, {"w": g})
    np.testing.assert_allclose(params["w"], expected, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: nl.SGD(0.1), lambda: nl.Momentum(0.05),
                                  lambda: nl.Adam(0.1)])
def test_optimizers_minimise_a_quadratic(make):
    # f(w) = ½ ||A w - c||², minimum at the least-squares solution.
    # A with singular values 1, 0.8 and 0.5: curvature between 0.25 and 1, so
    # every optimizer here contracts the error by a fixed factor per step.
    U = np.linalg.qr(RNG.standard_normal((6, 3)))[0]
    V = np.linalg.qr(RNG.standard_normal((3, 3)))[0]
    A, c = U @ np.diag([1.0, 0.8, 0.5]) @ V, RNG.standard_normal(6)
    solution = np.linalg.lstsq(A, c, rcond=None)[0]
    opt, params = make(), {"w": np.zeros(3)}
    for _ in range(3000):
        opt.step(params, {"w": A.T @ (A @ params["w"] - c)})
    np.testing.assert_allclose(params["w"], solution, atol=1e-6)


def test_float32_parameters_stay_float32():
    for opt in (nl.SGD(0.1), nl.Momentum(0.1), nl.Adam()):
        params = {"w": np.ones(3, np.float32)}
        opt.step(params, {"w": np.full(3, 0.5, np.float32)})
        assert params["w"].dtype == np.float32


def test_mismatched_keys_are_refused():
    with pytest.raises(ValueError, match="keyed like params"):
        nl.SGD(0.1).step({"a": np.ones(2)}, {"b": np.ones(2)})


@pytest.mark.parametrize("make", [lambda: nl.SGD(0.1), lambda: nl.Momentum(0.1),
                                  lambda: nl.Adam(0.1)])
def test_a_refused_step_moves_nothing(make):
    # The second gradient would broadcast; the first parameter must not have moved.
    params = {"a": np.ones(3), "b": np.ones((4, 3))}
    before = {key: value.copy() for key, value in params.items()}
    with pytest.raises(ValueError, match=r"parameter 'b' with its shape \(4, 3\)"):
        make().step(params, {"a": np.ones(3), "b": np.ones((1, 3))})
    for key, value in params.items():
        np.testing.assert_array_equal(value, before[key])


def test_swapped_step_is_recognised_from_the_model_dicts():
    model = nl.Sequential([nl.Dense(2, 2, rng=np.random.default_rng(0))])
    with pytest.raises(TypeError, match="arguments swapped"):
        nl.SGD(0.1).step(model.gradients(), model.parameters())
