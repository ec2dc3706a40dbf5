"""Behaviour of the core layers: forward values, layouts, dtypes, bookkeeping.

Gradient correctness against SymPy and finite differences is tested over the
registry (test_registry.py); here we test what a user relies on besides it.
"""

import numpy as np
import pytest

import netlib as nl

RNG = np.random.default_rng(20261123)

# (layer factory, reference forward written from the definition)
ELEMENTWISE = [
    (nl.Identity, lambda x: x),
    (nl.ReLU, lambda x: np.where(x > 0, x, 0.0)),
    (lambda: nl.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nl.Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    (nl.Tanh, np.tanh),
    (nl.Softplus, lambda x: np.log(1 + np.exp(x))),
]


@pytest.mark.parametrize(("make", "reference"), ELEMENTWISE)
def test_elementwise_forward_matches_definition(make, reference):
    x = RNG.standard_normal((5, 3)) * 3
    np.testing.assert_allclose(make().forward(x), reference(x), rtol=1e-13, atol=1e-15)


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    # Own generator: the result must not depend on which tests ran before.
    x = np.random.default_rng(7).standard_normal((4, 7)) * 5
    p = nl.Softmax().forward(x)
    np.testing.assert_allclose(p.sum(axis=1), np.ones(4), rtol=1e-14)
    # Compared through exp, not log: log(p) of a p within 1e-5 of 1 amplifies
    # p's rounding by 1e5, while exp(log p) keeps a relative error of about
    # |log p| * eps <= 40 * 2.2e-16 here.
    np.testing.assert_allclose(np.exp(nl.LogSoftmax().forward(x)), p, rtol=1e-13)
    reference = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, reference, rtol=1e-13)


def test_dense_forward_is_affine_map():
    W, b = RNG.standard_normal((3, 5)), RNG.standard_normal(5)
    x = RNG.standard_normal((4, 3))
    y = nl.Dense.from_params(W, b).forward(x)
    expected = np.array([[sum(x[n, i] * W[i, j] for i in range(3)) + b[j] for j in range(5)]
                         for n in range(4)])
    np.testing.assert_allclose(y, expected, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_layouts_are_exact_transposes(dtype):
    """Column layout is the transposed map: its gradients are exactly the transposes."""
    W = RNG.standard_normal((7, 4)).astype(dtype)
    b = RNG.standard_normal(4).astype(dtype)
    x = RNG.standard_normal((6, 7)).astype(dtype)
    g = RNG.standard_normal((6, 4)).astype(dtype)
    rows = nl.Dense.from_params(W, b)
    cols = nl.Dense.from_params(W.T, b, layout="columns")
    y_rows, y_cols = rows.forward(x), cols.forward(x.T)
    # The forward products may round differently in float32 (BLAS picks other
    # kernels for the transposed operands); 4 ulps of the output scale.
    np.testing.assert_allclose(y_rows, y_cols.T, rtol=0,
                               atol=4 * np.finfo(dtype).eps * np.abs(y_rows).max())
    dx_rows, dx_cols = rows.backward(g), cols.backward(g.T)
    np.testing.assert_array_equal(dx_rows, dx_cols.T)
    np.testing.assert_array_equal(rows.grads["W"], cols.grads["W"].T)
    np.testing.assert_array_equal(rows.grads["b"], cols.grads["b"])


def test_softmax_and_losses_in_column_layout_transpose_the_row_layout():
    z = RNG.standard_normal((5, 3))
    labels = RNG.integers(0, 3, 5)
    for row_layer, col_layer in [(nl.Softmax(), nl.Softmax(layout="columns")),
                                 (nl.LogSoftmax(), nl.LogSoftmax(layout="columns"))]:
        g = RNG.standard_normal((5, 3))
        np.testing.assert_allclose(row_layer.forward(z), col_layer.forward(z.T).T, rtol=1e-14)
        np.testing.assert_allclose(row_layer.backward(g), col_layer.backward(g.T).T, rtol=1e-14)
    rows, cols = nl.SoftmaxCrossEntropy(), nl.SoftmaxCrossEntropy(layout="columns")
    assert rows.forward(z, labels) == pytest.approx(cols.forward(z.T, labels), rel=1e-14)
    np.testing.assert_allclose(rows.backward(), cols.backward().T, rtol=1e-14)
    target = RNG.standard_normal((5, 3))
    mse_rows, mse_cols = nl.MeanSquaredError(), nl.MeanSquaredError(layout="columns")
    assert mse_rows.forward(z, target) == pytest.approx(mse_cols.forward(z.T, target.T))
    np.testing.assert_allclose(mse_rows.backward(), mse_cols.backward().T, rtol=1e-14)


def test_dense_without_bias_has_only_W():
    layer = nl.Dense(3, 2, bias=False, rng=np.random.default_rng(0))
    assert set(layer.params) == set(layer.grads) == {"W"}
    x = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(layer.forward(x), x @ layer.params["W"], rtol=1e-15)


@pytest.mark.parametrize(("init", "expected_std"), [
    ("he", np.sqrt(2 / 400)),
    ("xavier", np.sqrt(2 / (400 + 300))),
    ("normal", 0.05),
])
def test_initialisers_have_their_stated_scale(init, expected_std):
    layer = nl.Dense(400, 300, init=init, std=0.05, rng=np.random.default_rng(1))
    W = layer.params["W"]
    # 120,000 draws: the sample std is within 1% of the true one (its own
    # relative standard error is 1/sqrt(2n) ~ 0.2%).
    assert W.std() == pytest.approx(expected_std, rel=0.01)
    assert abs(W.mean()) < 5 * expected_std / np.sqrt(W.size)
    np.testing.assert_array_equal(layer.params["b"], 0)


def test_same_generator_seed_gives_same_weights():
    a = nl.Dense(5, 4, rng=np.random.default_rng(7)).params["W"]
    b = nl.Dense(5, 4, rng=np.random.default_rng(7)).params["W"]
    c = nl.Dense(5, 4, rng=np.random.default_rng(8)).params["W"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_backward_does_not_update_parameters():
    layer = nl.Dense(3, 2, rng=np.random.default_rng(0))
    before = {k: v.copy() for k, v in layer.params.items()}
    layer.forward(RNG.standard_normal((4, 3)))
    layer.backward(RNG.standard_normal((4, 2)))
    for key, value in before.items():
        np.testing.assert_array_equal(layer.params[key], value)
    assert np.abs(layer.grads["W"]).sum() > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameter_dtype_decides_computation_dtype(dtype):
    layer = nl.Dense(3, 2, dtype=dtype, rng=np.random.default_rng(0))
    other = np.float64 if dtype == np.float32 else np.float32
    y = layer.forward(RNG.standard_normal((4, 3)).astype(other))
    assert y.dtype == dtype
    assert layer.backward(np.ones((4, 2), dtype=other)).dtype == dtype
    assert layer.grads["W"].dtype == dtype


@pytest.mark.parametrize("make", [make for make, _ in ELEMENTWISE] + [nl.Softmax, nl.LogSoftmax])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_the_input_dtype(make, dtype):
    layer = make()
    x = RNG.standard_normal((3, 4)).astype(dtype)
    assert layer.forward(x).dtype == dtype
    assert layer.backward(np.ones((3, 4), dtype=dtype)).dtype == dtype


def test_sequential_parameters_are_views_keyed_by_layer_index():
    model = nl.Sequential([nl.Dense(3, 4, rng=np.random.default_rng(0)), nl.Tanh(),
                           nl.Dense(4, 2, bias=False, rng=np.random.default_rng(1))])
    params = model.parameters()
    assert sorted(params) == ["0.W", "0.b", "2.W"]
    params["0.b"][:] = 1.5       # writing through the view changes the layer
    np.testing.assert_array_equal(model[0].params["b"], 1.5)
    assert sorted(model.gradients()) == sorted(params)


def test_sequential_backward_chains_the_layer_vjps():
    rng = np.random.default_rng(3)
    layers = [nl.Dense(3, 4, rng=rng), nl.Sigmoid(), nl.Dense(4, 2, rng=rng)]
    model = nl.Sequential(layers)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    model.forward(x)
    dx = model.backward(g)
    # The same chain by hand, each layer's VJP fed the next one's result.
    h = x
    for layer in layers:
        h = layer.forward(h)
    by_hand = layers[0].backward(layers[1].backward(layers[2].backward(g)))
    np.testing.assert_array_equal(dx, by_hand)


def test_sequential_infers_and_checks_layout():
    cols = nl.Sequential([nl.Dense(3, 4, layout="columns"), nl.ReLU(),
                          nl.Dense(4, 2, layout="columns")])
    assert cols.layout == "columns" and cols.batch_axis == 1
    assert cols.forward(np.ones((3, 6))).shape == (2, 6)
    with pytest.raises(ValueError, match="one layout"):
        nl.Sequential([nl.Dense(3, 4), nl.Dense(4, 2, layout="columns")])


def test_predict_in_batches_equals_one_pass():
    model = nl.Sequential([nl.Dense(3, 4, rng=np.random.default_rng(0)), nl.ReLU()])
    x = RNG.standard_normal((10, 3))
    np.testing.assert_allclose(model.predict(x, batch_size=3), model.predict(x), rtol=1e-15)


def test_skipping_the_data_gradient_keeps_parameter_gradients():
    """fit() skips dL/dx of the first layer; nothing else may change."""
    rng = np.random.default_rng(4)
    model = nl.Sequential([nl.Dense(3, 4, rng=rng), nl.Tanh(), nl.Dense(4, 2, rng=rng)])
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    model.forward(x)
    dx = model.backward(g)
    full = {k: v.copy() for k, v in model.gradients().items()}
    model.forward(x)
    assert model.backward_without_input_gradient(g) is None
    for key, value in model.gradients().items():
        np.testing.assert_array_equal(value, full[key])
    assert model[0].input_gradient is True            # restored after the call
    model.forward(x)
    np.testing.assert_array_equal(model.backward(g), dx)


def test_sequential_backward_through_layers_that_override_backward():
    """A layer that overrides backward(g) itself still works in a chain."""

    class OwnBackward(nl.Layer):
        def _forward(self, x):
            return 3 * x

        def backward(self, g):                  # a user's layer, older protocol
            return 3 * g

    rng = np.random.default_rng(12)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    model = nl.Sequential([nl.Dense(4, 3, rng=rng), OwnBackward(), nl.Dense(3, 2, rng=rng)])
    model.forward(x)
    W2 = model[2].params["W"]
    np.testing.assert_allclose(model.backward(g), 3 * g @ W2.T @ model[0].params["W"].T,
                               rtol=1e-12)
    # Embedding first (integer tokens have no gradient): its dW still arrives.
    model = nl.Sequential([nl.Embedding(6, 4, rng=rng), nl.Dense(4, 2, rng=rng)])
    tokens = np.array([1, 5, 1])
    model.forward(tokens)
    assert model.backward_without_input_gradient(g[:3]) is None
    expected = np.zeros((6, 4))
    np.add.at(expected, tokens, g[:3] @ model[1].params["W"].T)
    np.testing.assert_allclose(model[0].grads["W"], expected, rtol=1e-12)


def test_sequential_accepts_token_indices_for_an_embedding_first_layer():
    rng = np.random.default_rng(6)
    model = nl.Sequential([nl.Embedding(7, 3, rng=rng), nl.Flatten(), nl.Dense(6, 2, rng=rng)])
    tokens = np.array([[1, 4], [6, 1], [0, 0]])
    assert model.forward(tokens).shape == (3, 2)
    with pytest.raises(TypeError, match=r"Dense\(4, 2\).*float32 or float64.*int"):
        nl.Sequential([nl.Dense(4, 2)]).forward(np.ones((3, 4), dtype=int))


def test_set_params_copies_into_the_same_arrays_and_refuses_wrong_shapes():
    layer = nl.Dense(3, 2, rng=np.random.default_rng(0))
    W = layer.params["W"]
    layer.set_params(W=np.arange(6.0).reshape(3, 2))
    assert layer.params["W"] is W and W[2, 1] == 5.0
    with pytest.raises(ValueError, match=r"Dense\(3, 2\)\.set_params: expected W of shape "
                                         r"\(3, 2\), got shape \(2, 3\)"):
        layer.set_params(W=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected parameters named \['W', 'b'\], got 'w'"):
        layer.set_params(w=np.zeros((3, 2)))
