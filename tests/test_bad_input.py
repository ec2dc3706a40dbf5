"""Bad input gets a clear error: which layer, what it expected, what it got.

One row per mistake: (id, callable that makes the mistake, exception type,
fragments the message must contain). Fragments name the layer and both
sides of the mismatch, so a message like "shapes not aligned" fails.
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


def fit_digits_like(x, y):
    model = nl.Sequential([dense()])
    return nl.fit(model, nl.SoftmaxCrossEntropy(), nl.SGD(0.1), x, y, progress=False)


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
    assert len({case[0] for case in MISTAKES}) >= 10
