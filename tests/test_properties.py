"""Property tests (hypothesis) of the core layers over random shapes and dtypes.

Shapes are drawn, not chosen, so no property can lean on a square or a
particular size; every layer's gradient is checked by the public checker at
the drawn shape, and the VJP's structural properties (linear in ``g``, the
column layout is the transposed row layout, softmax rows and their gradients)
are checked in float32 and float64.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import netlib as nl
from netlib.gradcheck import check_layer, sample_away_from_kinks

SETTINGS = settings(max_examples=25, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = st.integers(1, 6)
SEEDS = st.integers(0, 2**32 - 1)

#: name -> factory(dtype, rng, n_in, n_out, layout); what the properties run over.
LAYERS = {
    "dense": lambda dt, rng, i, o, lay: nl.Dense(i, o, rng=rng, dtype=dt, layout=lay,
                                                 init="normal", std=1.0),
    "dense_no_bias": lambda dt, rng, i, o, lay: nl.Dense(i, o, rng=rng, dtype=dt, layout=lay,
                                                         bias=False, init="normal", std=1.0),
    "identity": lambda *_: nl.Identity(),
    "relu": lambda *_: nl.ReLU(),
    "leaky_relu": lambda *_: nl.LeakyReLU(0.2),
    "sigmoid": lambda *_: nl.Sigmoid(),
    "tanh": lambda *_: nl.Tanh(),
    "softplus": lambda *_: nl.Softplus(),
    "softmax": lambda dt, rng, i, o, lay: nl.Softmax(layout=lay),
    "log_softmax": lambda dt, rng, i, o, lay: nl.LogSoftmax(layout=lay),
}
LOSSES = {
    "mse": (nl.MeanSquaredError, lambda rng, shape: rng.standard_normal(shape)),
    "bce_logits": (nl.BinaryCrossEntropyWithLogits, lambda rng, shape: rng.random(shape)),
    "softmax_cross_entropy": (nl.SoftmaxCrossEntropy,
                              lambda rng, shape: rng.dirichlet(np.ones(shape[1]), shape[0])),
}


def make(name, dtype, seed, batch, n_in, n_out, layout):
    """A layer, an input in its layout (away from kinks), and an upstream gradient."""
    rng = np.random.default_rng(seed)
    layer = LAYERS[name](dtype, rng, n_in, n_out, layout)
    if "b" in layer.params:
        layer.params["b"][...] = rng.standard_normal(n_out)
    x = sample_away_from_kinks(rng, (batch, n_in)).astype(dtype)
    x = x if layout == "rows" else np.ascontiguousarray(x.T)
    return layer, x, rng


@SETTINGS
@given(name=st.sampled_from(sorted(LAYERS)), dtype=DTYPES, seed=SEEDS, batch=SIZES,
       n_in=SIZES, n_out=SIZES, layout=st.sampled_from(["rows", "columns"]))
def test_gradients_pass_the_checker_at_any_shape(name, dtype, seed, batch, n_in, n_out, layout):
    layer, x, _ = make(name, dtype, seed, batch, n_in, n_out, layout)
    report = check_layer(layer, x, rng=seed)
    assert report.passed, str(report)


@SETTINGS
@given(name=st.sampled_from(sorted(LAYERS)), dtype=DTYPES, seed=SEEDS, batch=SIZES,
       n_in=SIZES, n_out=SIZES, layout=st.sampled_from(["rows", "columns"]))
def test_vjp_is_linear_in_g_and_keeps_the_dtype(name, dtype, seed, batch, n_in, n_out, layout):
    """J^T (a g1 + g2) = a J^T g1 + J^T g2, to a few ulps of the dtype."""
    layer, x, rng = make(name, dtype, seed, batch, n_in, n_out, layout)
    y = layer.forward(x)
    assert y.dtype == dtype
    g1, g2 = (rng.standard_normal(y.shape).astype(dtype) for _ in range(2))
    a = dtype(rng.uniform(-2, 2))
    parts = []
    for g in (g1, g2, a * g1 + g2):
        dx = layer.backward(g)
        assert dx.dtype == dtype and dx.shape == x.shape
        parts.append([dx, *(layer.grads[k].copy() for k in sorted(layer.grads))])
    eps = np.finfo(dtype).eps
    for one, two, combined in zip(*parts, strict=True):
        expected = a * one + two
        scale = np.abs(a * one) + np.abs(two) + np.abs(combined)
        # Each side is a sum of up to max(batch, n_in, n_out) rounded products.
        bound = 16 * eps * max(batch, n_in, n_out) * (scale + np.max(scale, initial=0))
        assert np.all(np.abs(combined - expected) <= bound), (combined, expected)


@SETTINGS
@given(dtype=DTYPES, seed=SEEDS, batch=SIZES, n_in=SIZES, n_out=SIZES,
       bias=st.booleans())
def test_dense_columns_is_the_transposed_rows(dtype, seed, batch, n_in, n_out, bias):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_in, n_out)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    g = rng.standard_normal((batch, n_out)).astype(dtype)
    rows, cols = nl.Dense.from_params(W, b), nl.Dense.from_params(W.T, b, layout="columns")
    y_rows, y_cols = rows.forward(x), cols.forward(x.T)
    dx_rows, dx_cols = rows.backward(g), cols.backward(g.T)
    tol = dict(rtol=64 * np.finfo(dtype).eps, atol=64 * np.finfo(dtype).eps * n_in)
    np.testing.assert_allclose(y_cols, y_rows.T, **tol)
    np.testing.assert_allclose(dx_cols, dx_rows.T, **tol)
    np.testing.assert_allclose(cols.grads["W"], rows.grads["W"].T, **tol)
    if bias:
        np.testing.assert_allclose(cols.grads["b"], rows.grads["b"], **tol)


@SETTINGS
@given(dtype=DTYPES, seed=SEEDS, batch=SIZES, classes=st.integers(2, 8),
       shift=st.floats(-500, 500), layout=st.sampled_from(["rows", "columns"]))
def test_softmax_rows_are_distributions_and_shift_invariant(dtype, seed, batch, classes,
                                                            shift, layout):
    """softmax(x + c) = softmax(x); probabilities sum to 1; Jᵀg sums to 0 per sample."""
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal((batch, classes))).astype(dtype)
    axis = 1
    if layout == "columns":
        x, axis = np.ascontiguousarray(x.T), 0
    layer = nl.Softmax(layout=layout)
    p = layer.forward(x)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(p.sum(axis=axis), 1, atol=4 * classes * eps)
    shifted = nl.Softmax(layout=layout).forward((x.astype(np.float64) + shift).astype(dtype))
    # The shift itself rounds x by up to eps * |shift| before the softmax sees it.
    np.testing.assert_allclose(shifted, p, atol=8 * eps * (abs(shift) + 4 * np.abs(x).max()))
    dx = layer.backward(rng.standard_normal(p.shape).astype(dtype))
    np.testing.assert_allclose(dx.sum(axis=axis), 0, atol=8 * classes * eps * np.abs(dx).max()
                               + 8 * eps)


@SETTINGS
@given(name=st.sampled_from(sorted(LOSSES)), seed=SEEDS, batch=SIZES,
       features=st.integers(2, 6), layout=st.sampled_from(["rows", "columns"]))
def test_loss_gradients_pass_the_checker_at_any_shape(name, seed, batch, features, layout):
    loss_class, make_target = LOSSES[name]
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal((batch, features))
    target = make_target(rng, (batch, features))
    if layout == "columns":
        pred, target = pred.T, target.T
    report = check_layer(loss_class(layout=layout), pred, target=target, rng=seed)
    assert report.passed, str(report)


@SETTINGS
@given(name=st.sampled_from(sorted(LOSSES)), dtype=DTYPES, seed=SEEDS, batch=SIZES,
       features=st.integers(2, 6))
def test_sum_reduction_is_batch_times_mean(name, dtype, seed, batch, features):
    """The factor 1/batch lives in the loss, once: sum = N × mean, value and gradient."""
    loss_class, make_target = LOSSES[name]
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal((batch, features)).astype(dtype)
    target = make_target(rng, (batch, features)).astype(dtype)
    mean, total = loss_class(), loss_class(reduction="sum")
    value_mean, value_sum = mean.forward(pred, target), total.forward(pred, target)
    grad_mean, grad_sum = mean.backward(), total.backward()
    assert grad_mean.dtype == dtype
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(value_sum, batch * value_mean, rtol=8 * eps)
    np.testing.assert_allclose(grad_sum, batch * grad_mean, rtol=8 * eps, atol=8 * eps)
