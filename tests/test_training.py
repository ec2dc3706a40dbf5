"""The fit loop: reproducible, a plottable history, and it learns real data."""

import itertools

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import netlib as nl


def relu_network(rng, sizes, dtype=np.float64):
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nl.Dense(n_in, n_out, rng=rng, dtype=dtype), nl.ReLU()]
    return nl.Sequential(layers[:-1])          # linear output: logits


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits (1,797 images), pixels scaled to [0, 1].

    Split: a stratified 75/25 train/test split with random_state=0, i.e.
    1,347 training and 450 test images.
    """
    data = load_digits()
    x = (data.data / 16.0).astype(np.float64)
    return train_test_split(x, data.target, test_size=0.25, stratify=data.target,
                            random_state=0)


def test_two_hidden_layer_relu_network_reaches_097_on_digits(digits):
    x_train, x_test, y_train, y_test = digits
    # 64-128-64-10; over generator seeds 0-3 this ends at 0.978-0.984 (seed 0:
    # 0.984), so the 0.97 bar is not a lucky draw.
    model = relu_network(np.random.default_rng(0), [64, 128, 64, 10])
    history = nl.fit(model, nl.SoftmaxCrossEntropy(), nl.Adam(lr=0.002), x_train, y_train,
                     epochs=40, batch_size=32, rng=0, validation=(x_test, y_test),
                     progress=False)
    _, test_accuracy = nl.evaluate(model, nl.SoftmaxCrossEntropy(), x_test, y_test)
    assert test_accuracy >= 0.97, f"test accuracy {test_accuracy:.4f} on 450 digits"
    assert history.val_accuracy[-1] == pytest.approx(test_accuracy)
    assert history.train_loss[-1] < history.train_loss[0] / 10


def test_fit_is_reproducible_and_history_is_plain(digits):
    x_train, _, y_train, _ = digits
    runs = []
    for _ in range(2):
        model = relu_network(np.random.default_rng(1), [64, 16, 10])
        history = nl.fit(model, nl.SoftmaxCrossEntropy(), nl.SGD(0.1), x_train[:200],
                         y_train[:200], epochs=3, batch_size=16, rng=42, progress=False)
        runs.append((history, model.parameters()["0.W"].copy()))
    (h1, w1), (h2, w2) = runs
    np.testing.assert_array_equal(w1, w2)
    assert h1.as_dict() == h2.as_dict()
    assert h1.epoch == [1, 2, 3] and len(h1.train_accuracy) == 3
    assert h1.val_loss == [None, None, None]
    assert all(isinstance(v, float) for v in h1.train_loss)


def test_fit_trains_a_column_layout_network():
    """Seed B's setting: x is (features, batch); fit slices along axis 1."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (3, 40))
    w_true = rng.standard_normal((2, 3))
    y = w_true @ x
    model = nl.Sequential([nl.Dense(3, 2, layout="columns", rng=rng)])
    loss = nl.MeanSquaredError(layout="columns")
    history = nl.fit(model, loss, nl.SGD(0.5), x, y, epochs=300, batch_size=8, rng=0,
                     progress=False)
    assert history.train_loss[-1] < 1e-4 < history.train_loss[0]
    np.testing.assert_allclose(model[0].params["W"], w_true, atol=0.02)


def test_progress_bar_is_shown_when_asked(digits, capsys):
    x_train, _, y_train, _ = digits
    model = relu_network(np.random.default_rng(0), [64, 10])
    nl.fit(model, nl.SoftmaxCrossEntropy(), nl.SGD(0.1), x_train[:64], y_train[:64],
           epochs=1, batch_size=32, progress=True)
    err = capsys.readouterr().err
    assert "64/64" in err and "sample" in err


def test_float32_training_stays_float32(digits):
    x_train, _, y_train, _ = digits
    model = relu_network(np.random.default_rng(0), [64, 16, 10], dtype=np.float32)
    nl.fit(model, nl.SoftmaxCrossEntropy(), nl.Adam(), x_train[:64].astype(np.float32),
           y_train[:64], epochs=1, progress=False)
    assert all(p.dtype == np.float32 for p in model.parameters().values())
    assert model.predict(x_train[:5].astype(np.float32)).dtype == np.float32
