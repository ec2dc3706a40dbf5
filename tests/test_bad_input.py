"""Bad input gets a clear error: which layer, what it expected, what it got.

One row per mistake: (id, callable that makes the mistake, exception type,
fragments the message must contain). Fragments name the layer and both
sides of the mismatch, and where there is one the fix, so a message like
"shapes not aligned" fails. The rows after the first block are issue 18's
list of mistakes a new user makes; mistakes with files are in
``test_bad_files.py``, in the same form.
"""

import numpy as np
import pytest

import netlib as nl

RNG = np.random.default_rng(0)


def dense(**kwargs):
    return nl.Dense(4, 3, rng=np.random.default_rng(0), **kwargs)


def backward_with(layer, x, g):
    layer.forward(x)
    return layer.backward(g)


def fit_digits_like(x, y, loss=None, model=None, **kwargs):
    model = nl.Sequential([dense()]) if model is None else model
    loss = nl.SoftmaxCrossEntropy() if loss is None else loss
    return nl.fit(model, loss, nl.SGD(0.1), x, y, progress=False, **kwargs)


def step_with(grad_shape, swapped=False):
    model = nl.Sequential([dense()])
    params = model.parameters()
    grads = {key: np.ones(grad_shape if key.endswith("W") else value.shape)
             for key, value in params.items()}
    if swapped:
        return nl.SGD(0.1).step(model.gradients(), params)
    return nl.SGD(0.1).step(params, grads)


LABELS = np.array([0, 1, 2, 0, 1])


MISTAKES = [
    ("wrong number of features", lambda: dense().forward(np.ones((5, 7))),
     ValueError, ["Dense(4, 3)", "(batch, 4)", "(5, 7)"]),
    ("1-D input where a batch is expected", lambda: dense().forward(np.ones(4)),
     ValueError, ["Dense(4, 3)", "2 dimensions", "(4,)"]),
    ("row-layout batch fed to a column-layout layer",
     lambda: dense(layout="columns").forward(np.ones((5, 4))),
     ValueError, ["layout='columns'", "(4, batch)", "(5, 4)"]),
    ("integer pixels where floats are needed", lambda: dense().forward(np.ones((2, 4), int)),
     TypeError, ["Dense(4, 3)", "float32 or float64", "int64"]),
    ("boolean mask passed as activation input", lambda: nl.ReLU().forward(np.ones(3, bool)),
     TypeError, ["ReLU", "float32 or float64", "bool"]),
    ("upstream gradient of the wrong shape",
     lambda: backward_with(dense(), np.ones((5, 4)), np.ones((3, 5))),
     ValueError, ["Dense(4, 3)", "(5, 3)", "(3, 5)"]),
    ("backward before forward", lambda: nl.Sigmoid().backward(np.ones((2, 2))),
     RuntimeError, ["Sigmoid", "before forward"]),
    ("label out of range", lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((3, 4)),
                                                                    np.array([0, 4, 1])),
     ValueError, ["SoftmaxCrossEntropy", "[0, 3]", "4 classes", "to 4"]),
    ("negative label", lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((3, 4)),
                                                                np.array([0, -1, 1])),
     ValueError, ["SoftmaxCrossEntropy", "[0, 3]", "from -1"]),
    ("float labels instead of integers",
     lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0])),
     TypeError, ["SoftmaxCrossEntropy", "integer labels", "float64"]),
    ("too few labels", lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((3, 4)),
                                                                np.array([0, 1])),
     ValueError, ["SoftmaxCrossEntropy", "shape (3,)", "shape (2,)"]),
    ("target shape differs from predictions",
     lambda: nl.MeanSquaredError().forward(np.zeros((3, 2)), np.zeros((2, 3))),
     ValueError, ["MeanSquaredError", "(3, 2)", "(2, 3)"]),
    ("NaN in the predictions", lambda: nl.MeanSquaredError().forward(
        np.array([[1.0, np.nan]]), np.zeros((1, 2))),
     ValueError, ["MeanSquaredError", "finite", "1 non-finite", "(0, 1)"]),
    ("logits passed to the probability loss",
     lambda: nl.BinaryCrossEntropy().forward(np.array([[2.0, -1.0]]), np.ones((1, 2))),
     ValueError, ["BinaryCrossEntropy", "[0, 1]", "-1", "WithLogits"]),
    ("infinity in the training data",
     lambda: fit_digits_like(np.array([[np.inf, 0, 0, 0]]), np.array([1])),
     ValueError, ["fit", "finite", "1 non-finite"]),
    ("fewer targets than samples", lambda: fit_digits_like(np.ones((5, 4)), np.array([1, 2])),
     ValueError, ["fit", "as many targets as samples (5)", "got 2"]),
    ("layers of mixed layouts",
     lambda: nl.Sequential([dense(), nl.Dense(3, 2, layout="columns")]),
     ValueError, ["Sequential", "one layout", "columns", "rows"]),
    ("unknown layout", lambda: dense(layout="cols"),
     ValueError, ["Dense", "'rows' or 'columns'", "'cols'"]),
    ("unknown reduction", lambda: nl.MeanSquaredError(reduction="avg"),
     ValueError, ["MeanSquaredError", "'mean' or 'sum'", "'avg'"]),
    ("non-positive learning rate", lambda: nl.SGD(lr=-0.1),
     ValueError, ["SGD", "positive", "-0.1"]),
    ("parameter dtype that is not a float", lambda: nl.Dense(2, 2, dtype=np.int32),
     TypeError, ["Dense", "float32 or float64", "int32"]),
    # -- issue 18: crashed from deep inside ------------------------------------------
    ("empty batch to a loss",
     lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, ["SoftmaxCrossEntropy", "at least one sample", "logits", "(0, 3)"]),
    ("empty batch to a regression loss",
     lambda: nl.MeanSquaredError().forward(np.zeros((0, 3)), np.zeros((0, 3))),
     ValueError, ["MeanSquaredError", "at least one sample", "(0, 3)"]),
    ("fit with 0 samples", lambda: fit_digits_like(np.zeros((0, 4)), np.zeros(0, int)),
     ValueError, ["fit", "at least one sample in x", "(0, 4)"]),
    ("evaluate with 0 samples",
     lambda: nl.evaluate(nl.Sequential([dense()]), nl.SoftmaxCrossEntropy(), np.zeros((0, 4)),
                         np.zeros(0, int)),
     ValueError, ["evaluate", "at least one sample in x", "(0, 4)"]),
    ("a layer class, not an instance", lambda: nl.Sequential([nl.ReLU]),
     TypeError, ["Sequential", "position 0", "class ReLU", "call it: ReLU()"]),
    ("a class that needs arguments", lambda: nl.Sequential([dense(), nl.Dense]),
     TypeError, ["Sequential", "position 1", "class Dense", "Dense(...)"]),
    ("a loss among the layers", lambda: nl.Sequential([dense(), nl.SoftmaxCrossEntropy()]),
     TypeError, ["Sequential", "position 1", "SoftmaxCrossEntropy()", "not a layer",
                 "fit(model, loss, optimizer, x, y)"]),
    ("an optimizer among the layers", lambda: nl.Sequential([dense(), nl.SGD(0.1)]),
     TypeError, ["Sequential", "position 1", "the optimizer SGD(lr=0.1)", "not a layer"]),
    ("a number among the layers", lambda: nl.Sequential([dense(), 3]),
     TypeError, ["Sequential", "forward and backward", "position 1", "got int 3"]),
    ("a layer class inside a residual block", lambda: nl.Residual(nl.Tanh),
     TypeError, ["Residual", "class Tanh", "Tanh()"]),
    ("loss and optimizer swapped",
     lambda: nl.fit(nl.Sequential([dense()]), nl.SGD(0.1), nl.SoftmaxCrossEntropy(),
                    np.ones((5, 4)), LABELS, progress=False),
     TypeError, ["fit", "swapped", "SGD(lr=0.1)", "fit(model, loss, optimizer, x, y)"]),
    ("validation without targets",
     lambda: fit_digits_like(np.ones((5, 4)), LABELS, validation=(np.ones((5, 4)),)),
     TypeError, ["fit", "validation=(x_val, y_val)", "tuple of 1 element"]),
    ("validation as a fraction",
     lambda: fit_digits_like(np.ones((5, 4)), LABELS, validation=0.2),
     TypeError, ["fit", "validation=(x_val, y_val)", "0.2", "train_validation_split"]),
    ("learning rate as text", lambda: nl.SGD(lr="0.1"),
     TypeError, ["SGD", "lr", "real number", "str '0.1'", "lr=0.1 without quotes"]),
    ("momentum as text", lambda: nl.Momentum(0.1, momentum="0.9"),
     TypeError, ["Momentum", "momentum", "str '0.9'"]),
    # -- issue 18: unclear --------------------------------------------------------
    ("layers without a list", lambda: nl.Sequential(dense(), nl.ReLU()),
     TypeError, ["Sequential", "one list of layers", "2 separate arguments",
                 "Sequential([Dense(4, 3), ReLU()])"]),
    ("gradient of the wrong shape", lambda: step_with((3, 4)),
     ValueError, ["SGD.step", "parameter '0.W'", "(4, 3)", "got shape (3, 4)"]),
    ("integer one-hot labels",
     lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((5, 3)), np.eye(3, dtype=int)[LABELS]),
     ValueError, ["SoftmaxCrossEntropy", "shape (5,)", "integer array of shape (5, 3)",
                  "argmax(axis=1)", "astype(np.float64)"]),
    ("column-layout loss after a row-layout model",
     lambda: fit_digits_like(np.ones((5, 4)), LABELS,
                             loss=nl.SoftmaxCrossEntropy(layout="columns")),
     ValueError, ["fit", "model's layout 'rows'", "layout='columns'", "layout='rows'"]),
    ("column-layout loss on row-layout logits",
     lambda: nl.SoftmaxCrossEntropy(layout="columns").forward(np.zeros((5, 3)), LABELS),
     ValueError, ["SoftmaxCrossEntropy(layout='columns')", "shape (3,)", "shape (5,)",
                  "(classes, batch)", "layout='rows'"]),
    ("complex values", lambda: dense().forward(np.ones((2, 4), complex)),
     TypeError, ["Dense(4, 3)", "float32 or float64", "complex128", ".real"]),
    ("numbers as text", lambda: dense().forward(np.array([["1.5"] * 4])),
     TypeError, ["Dense(4, 3)", "float32 or float64", "<U3", "parse numbers"]),
    # -- issue 18: silent -----------------------------------------------------------
    ("NaN input to a layer", lambda: dense().forward(np.array([[0.0, np.nan, 0.0, 0.0]])),
     ValueError, ["Dense(4, 3)", "finite values in x", "1 non-finite", "(0, 1)"]),
    ("optimizer step with arguments swapped", lambda: step_with((4, 3), swapped=True),
     TypeError, ["SGD.step", "swapped", "step(model.parameters(), model.gradients())"]),
    ("gradient that would broadcast", lambda: step_with((1, 3)),
     ValueError, ["SGD.step", "parameter '0.W'", "(4, 3)", "got shape (1, 3)", "broadcast"]),
    ("all-zero float target",
     lambda: nl.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.zeros((2, 3))),
     ValueError, ["SoftmaxCrossEntropy", "probability distribution", "row 0", "summing to 0",
                  "integers of shape (batch,)"]),
    ("loss layout differs from the model's, batch = classes",
     lambda: fit_digits_like(np.ones((3, 4)), np.eye(3),
                             loss=nl.SoftmaxCrossEntropy(layout="columns")),
     ValueError, ["fit", "model's layout 'rows'", "SoftmaxCrossEntropy(layout='columns')"]),
    ("columns loss, layout-free model",
     lambda: fit_digits_like(np.ones((3, 3)), np.eye(3), model=nl.Sequential([nl.Tanh()]),
                             loss=nl.SoftmaxCrossEntropy(layout="columns")),
     ValueError, ["fit", "no layer that sets a layout", "layout='columns'"]),
    ("evaluate with a loss of the other layout",
     lambda: nl.evaluate(nl.Sequential([dense()]), nl.SoftmaxCrossEntropy(layout="columns"),
                         np.ones((3, 4)), np.eye(3)),
     ValueError, ["evaluate", "model's layout 'rows'", "layout 'columns'"]),
    ("logistic target of 2",
     lambda: nl.BinaryCrossEntropyWithLogits().forward(np.zeros((2, 1)), np.full((2, 1), 2.0)),
     ValueError, ["BinaryCrossEntropyWithLogits", "target values in [0, 1]", "from 2 to 2",
                  "SoftmaxCrossEntropy"]),
    ("probability target of -1",
     lambda: nl.BinaryCrossEntropy().forward(np.full((2, 1), 0.5), np.array([[-1.0], [1.0]])),
     ValueError, ["BinaryCrossEntropy", "target values in [0, 1]", "from -1 to 1",
                  "(t + 1) / 2"]),
]


@pytest.mark.parametrize(("make_mistake", "error", "fragments"),
                         [case[1:] for case in MISTAKES], ids=[case[0] for case in MISTAKES])
def test_bad_input_raises_clear_error(make_mistake, error, fragments):
    with pytest.raises(error) as caught:
        make_mistake()
    message = str(caught.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_the_table_covers_at_least_ten_distinct_mistakes():
    assert len({case[0] for case in MISTAKES}) == len(MISTAKES) >= 10


# Legal input gets the right result, not an error.

def test_layers_inside_sequential_are_not_scanned_twice_but_standalone_ones_are():
    model = nl.Sequential([dense(), nl.ReLU()])
    bad = np.array([[np.nan, 0.0, 0.0, 0.0]])
    with pytest.raises(nl.NonFiniteError, match="Sequential"):
        model.forward(bad)
    # fit checks x once and then passes check_finite_input=False down the chain.
    y = model.forward(bad, check_finite_input=False)
    assert np.isnan(y).any()


def test_predict_on_zero_samples_is_an_empty_prediction():
    model = nl.Sequential([dense()])
    assert model.predict(np.zeros((0, 4)), batch_size=2).shape == (0, 3)


def test_soft_targets_that_are_distributions_are_accepted():
    soft = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    value = nl.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), soft)
    np.testing.assert_allclose(value, np.log(3), rtol=1e-14)


def test_user_parameter_dicts_still_step():
    params = {"w": np.ones(3)}
    nl.SGD(0.5).step(params, {"w": np.ones(3)})
    np.testing.assert_array_equal(params["w"], np.full(3, 0.5))
