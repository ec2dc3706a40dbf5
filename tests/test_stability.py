"""Numerical stability at extreme inputs, with every floating-point warning an error.

Inputs up to ±1e4 in float64 and ±80 in float32 (the issue's targets). Each
layer/loss runs forward and backward under ``numpy.errstate(all="raise")``:
an overflow, invalid operation or division by zero raises
``FloatingPointError`` and fails the test. Results must be finite and equal
the known limits.
"""

import numpy as np
import pytest

import netlib as nl

EXTREMES = {np.float64: 1e4, np.float32: 80.0}


def extreme_inputs(dtype):
    big = EXTREMES[dtype]
    return np.array([[-big, -big / 2, 0.0, big / 2, big],
                     [big, -big, 1.0, -1.0, 0.5]], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [nl.Sigmoid, nl.Softplus, nl.Tanh, nl.Softmax, nl.LogSoftmax])
def test_layers_stay_finite_at_extremes(make, dtype):
    x = extreme_inputs(dtype)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    layer = make()
    with np.errstate(all="raise"):
        y = layer.forward(x)
        dx = layer.backward(g)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert y.dtype == dx.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_limits_are_right_at_extremes(dtype):
    x = extreme_inputs(dtype)
    big = EXTREMES[dtype]
    with np.errstate(all="raise"):
        s = nl.Sigmoid().forward(x)
        sp = nl.Softplus().forward(x)
        ls = nl.LogSoftmax().forward(x)
    assert s[0, 0] == pytest.approx(0, abs=1e-30) and s[0, -1] == 1
    assert sp[0, -1] == pytest.approx(big, rel=1e-6) and sp[0, 0] == pytest.approx(0, abs=1e-30)
    # The largest logit of each row has log-probability ~0, the smallest ~ -2·big.
    assert ls[0, -1] == pytest.approx(0, abs=1e-6)
    assert ls[1, 1] == pytest.approx(-2 * big, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [nl.BinaryCrossEntropyWithLogits, nl.SoftmaxCrossEntropy])
def test_logit_losses_stay_finite_at_extremes(make, dtype):
    z = extreme_inputs(dtype)
    target = (np.array([0, 1]) if make is nl.SoftmaxCrossEntropy
              else (z < 0).astype(dtype))   # every extreme logit confidently wrong
    loss = make()
    with np.errstate(all="raise"):
        value = loss.forward(z, target)
        grad = loss.backward()
    assert np.isfinite(value) and value > EXTREMES[dtype] / 4
    assert np.all(np.isfinite(grad)) and grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_on_saturated_probabilities_stays_finite(dtype):
    p = nl.Sigmoid().forward(extreme_inputs(dtype))   # contains exact 0s and 1s
    target = 1 - np.round(p)
    loss = nl.BinaryCrossEntropy()
    with np.errstate(all="raise"):
        value = loss.forward(p, target)
        grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
