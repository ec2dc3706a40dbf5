r"""The five seed networks of the project, rebuilt with netlib.

Each builder returns a :class:`SeedSetup`: the model in the seed's own layout,
its loss, its data and the optimizer settings its author used, so that a page,
a test or a script can check its gradients and train it the same way.

========  =====================  ===========  =====================================
seed      network                layout       loss, optimizer
========  =====================  ===========  =====================================
A         128-16-1, sigmoid x2   rows         binary cross-entropy, GD lr 0.01
B         3-4-4-2, sigmoid       columns      ½‖ŷ - y‖² (batch mean), GD (no lr given)
C         2-2-3, ReLU            rows         softmax cross-entropy, GD lr 0.01
D         10-60-140-50-10-1      columns      ½‖ŷ - y‖² per sample, SGD lr 0.05
E         784-100-200-10, ReLU   rows         softmax cross-entropy, SGD lr 0.1
========  =====================  ===========  =====================================

Every model can be moved to the other layout with :func:`in_layout`: the
weights are transposed, the data too, and the network computes the transposed
map, so its loss is the same number and its gradients are the transposes.

Examples
--------
>>> setup = seed_b(rng=0)
>>> setup.model.layout, setup.x.shape, setup.target.shape
('columns', (3, 5), (2, 5))
>>> rows = in_layout(setup, "rows")
>>> rows.x.shape, rows.model[0].params["W"].shape
((5, 3), (3, 4))
>>> bool(np.isclose(loss_value(setup), loss_value(rows)))
True
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import time
from dataclasses import dataclass, field, replace

import numpy as np

import netlib as nl


@dataclass
class SeedSetup:
    """A seed network with everything needed to check and train it.

    Attributes
    ----------
    name, title : str
        ``"A"`` ... ``"E"`` and a one-line description.
    model : netlib.Sequential
        The network, in the seed's layout unless converted with :func:`in_layout`.
    loss : netlib.Loss
        The loss, in the model's layout.
    x, target : numpy.ndarray
        Training inputs and targets (``(features, n)`` in column layout).
    lr, epochs, batch_size, shuffle
        The seed's optimizer settings: plain gradient descent with step
        ``lr``; ``batch_size`` samples per step (the whole set for full-batch
        descent); ``shuffle`` whether the order is redrawn every epoch.
    validation, test : tuple or None
        ``(x, target)`` held out, where the seed had them (seed E).
    facts : dict
        What the page's summary table shows (architecture, init, data...).
    """

    name: str
    title: str
    model: nl.Sequential
    loss: nl.Loss
    x: np.ndarray
    target: np.ndarray
    lr: float
    epochs: int
    batch_size: int
    shuffle: bool
    validation: tuple | None = None
    test: tuple | None = None
    facts: dict = field(default_factory=dict)

    @property
    def layout(self) -> str:
        """``"rows"`` or ``"columns"``: where the batch lives."""
        return self.model.layout

    def optimizer(self) -> nl.SGD:
        """A fresh optimizer with the seed's step size."""
        return nl.SGD(self.lr)


def _normal_dense(rng, n_in, n_out, std, layout, bias=True, dtype=np.float64) -> nl.Dense:
    return nl.Dense(n_in, n_out, init="normal", std=std, rng=rng, layout=layout, bias=bias,
                    dtype=dtype)


# -- seed A -------------------------------------------------------------------------------
def seed_a(rng=0) -> SeedSetup:
    """Seed A: one standard-normal example, 128 → 16 → 1, sigmoid after both layers.

    Weights standard normal, biases ``0.05 · N(0, 1)``; binary cross-entropy
    against the target 1; gradient descent with step 0.01 for 1000 steps.
    """
    rng = np.random.default_rng(rng)
    x = rng.standard_normal((1, 128))          # one row = one example
    model = nl.Sequential([_normal_dense(rng, 128, 16, 1.0, "rows"), nl.Sigmoid(),
                           _normal_dense(rng, 16, 1, 1.0, "rows"), nl.Sigmoid()])
    for layer in (model[0], model[2]):
        layer.params["b"][...] = 0.05 * rng.standard_normal(layer.out_features)
    return SeedSetup(
        "A", "one example, sigmoid, binary cross-entropy", model,
        nl.BinaryCrossEntropy(), x, np.ones((1, 1)), lr=0.01, epochs=1000, batch_size=1,
        shuffle=False,
        facts={"architecture": "128 → 16 → 1, sigmoid after both affine layers",
               "layout": "rows: a = x·W + b, W of shape (in, out)",
               "loss": "binary cross-entropy, target 1",
               "data": "one standard-normal input of 128 values",
               "init": "W ~ N(0, 1), b ~ 0.05·N(0, 1)",
               "optimizer": "gradient descent, lr 0.01, 1000 steps"})


# -- seed B -------------------------------------------------------------------------------
#: Seed B states no optimizer; these are our choice, said so on its page.
SEED_B_LR, SEED_B_EPOCHS = 0.5, 3000


def seed_b(rng=0) -> SeedSetup:
    """Seed B: 3 → 4 → 4 → 2 in column layout, sigmoid hidden layers, linear output.

    ``X`` is ``(3, 5)`` uniform in [0, 1), targets ``(2, 5)`` standard normal,
    weights ``0.01 · N(0, 1)``, zero biases; loss the batch mean of
    ``½‖pred − target‖²``.
    """
    rng = np.random.default_rng(rng)
    x = rng.uniform(0.0, 1.0, size=(3, 5))
    target = rng.standard_normal((2, 5))
    model = nl.Sequential([_normal_dense(rng, 3, 4, 0.01, "columns"), nl.Sigmoid(),
                           _normal_dense(rng, 4, 4, 0.01, "columns"), nl.Sigmoid(),
                           _normal_dense(rng, 4, 2, 0.01, "columns")])
    return SeedSetup(
        "B", "the readable-backprop question (column layout)", model,
        nl.MeanSquaredError(layout="columns"), x, target, lr=SEED_B_LR, epochs=SEED_B_EPOCHS,
        batch_size=5, shuffle=False,
        facts={"architecture": "3 → 4 → 4 → 2, sigmoid hidden layers, linear output",
               "layout": "columns: X (features, batch), W (out, in), hidden = σ(W X + b)",
               "loss": "mean over the batch of ½‖pred − target‖²",
               "data": "batch of 5, X uniform in [0, 1), targets standard normal",
               "init": "W = 0.01·N(0, 1), b = 0",
               "optimizer": f"none given; we use full-batch GD, lr {SEED_B_LR}, "
                            f"{SEED_B_EPOCHS} steps"})


# -- seed C -------------------------------------------------------------------------------
def seed_c_data(rng=0) -> tuple[np.ndarray, np.ndarray]:
    """The seed's toy set: 20 samples, 2 informative features, 2 classes."""
    from sklearn.datasets import make_classification

    x, labels = make_classification(n_samples=20, n_features=2, n_informative=2,
                                    n_redundant=0, n_repeated=0, n_classes=2,
                                    n_clusters_per_class=1, random_state=rng)
    return x, labels.astype(np.int64)


def seed_c(rng=0) -> SeedSetup:
    """Seed C: 2 → 2 → 3 with ReLU, softmax cross-entropy, 10,000 epochs of GD.

    Weights ``0.01 · uniform[0, 1)`` (all positive, not centred), zero biases.
    ``rng`` (an int) seeds both ``make_classification`` and the weights.
    """
    x, labels = seed_c_data(rng)
    weights = np.random.default_rng(rng)
    layers = []
    for n_in, n_out in ((2, 2), (2, 3)):
        W = 0.01 * weights.uniform(0.0, 1.0, size=(n_in, n_out))
        layers.append(nl.Dense.from_params(W, np.zeros(n_out)))
    model = nl.Sequential([layers[0], nl.ReLU(), layers[1]])
    return SeedSetup(
        "C", "ReLU and softmax on a toy classification set", model, nl.SoftmaxCrossEntropy(),
        x, labels, lr=0.01, epochs=10_000, batch_size=len(x), shuffle=False,
        facts={"architecture": "2 → 2 → 3, ReLU hidden, softmax output (3 units, 2 classes)",
               "layout": "rows: X (samples, features), W1 (2, 2), b1 (1, 2)",
               "loss": "mean cross-entropy of the softmax probabilities",
               "data": "make_classification: 20 samples, 2 informative features, 2 classes",
               "init": "W = 0.01·uniform[0, 1), b = 0",
               "optimizer": "full-batch gradient descent, lr 0.01, 10,000 epochs"})


# -- seed D -------------------------------------------------------------------------------
#: The seed's layer list, as (in, out) pairs.
SEED_D_LAYERS = ((10, 60), (60, 140), (140, 50), (50, 10), (10, 1))


def seed_d(rng=0) -> SeedSetup:
    """Seed D: five bias-free sigmoid layers in column layout, per-sample SGD.

    ``a_l = W_l o_{l-1}``, ``o_l = σ(a_l)`` including the output; 50 standard
    normal inputs of 10 values with standard-normal scalar labels; loss
    ``½(y − t)ᵀ(y − t)`` per sample; step 0.05, 100 epochs.
    """
    rng = np.random.default_rng(rng)
    x = rng.standard_normal((10, 50))           # one column = one sample
    target = rng.standard_normal((1, 50))
    layers = []
    for n_in, n_out in SEED_D_LAYERS:
        layers += [_normal_dense(rng, n_in, n_out, 1.0, "columns", bias=False), nl.Sigmoid()]
    return SeedSetup(
        "D", "vectorised backprop, any depth, no biases", nl.Sequential(layers),
        nl.MeanSquaredError(layout="columns"), x, target, lr=0.05, epochs=100, batch_size=1,
        shuffle=False,
        facts={"architecture": "10 → 60 → 140 → 50 → 10 → 1, sigmoid everywhere, no biases",
               "layout": "columns: a_l = W_l·o_(l−1), W_l of shape (out, in)",
               "loss": "½(y − t)ᵀ(y − t) per sample",
               "data": "50 standard-normal inputs (10 values), standard-normal labels",
               "init": "W ~ N(0, 1)",
               "optimizer": "per-sample SGD, lr 0.05, 100 epochs, samples in order"})


# -- seed E -------------------------------------------------------------------------------
#: Seed E's settings (the full-run script and its cached results record them).
SEED_E_SETTINGS = {"sizes": [784, 100, 200, 10], "init_std": 0.01, "lr": 0.1,
                   "batch_size": 32, "epochs": 25, "validation": 10_000, "dtype": "float32"}
#: Epochs on scikit-learn's digits (1,124 training images, 36 steps an epoch).
#: The seed's 25 MNIST epochs are 39,000 steps; with its tiny initial weights
#: the network needs thousands of steps before it learns at all, so 25 epochs
#: of 36 steps would stop before it started. 300 epochs are 10,800 steps.
SEED_E_SMALL_DATA_EPOCHS = 300


def seed_e_model(n_features: int = 784, n_classes: int = 10, rng=0, dtype=np.float32,
                 init: str = "seed") -> nl.Sequential:
    """784 → 100 → 200 → 10 with ReLUs, weights ``N(0, 0.01²)``, zero biases.

    ``init="he"`` draws the weights at He scale instead (only to check the
    gradients at a point whose ReLU inputs are not crowded around the kink).
    """
    rng = np.random.default_rng(rng)
    sizes = [n_features, *SEED_E_SETTINGS["sizes"][1:-1], n_classes]
    layers = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if init == "he":
            layers.append(nl.Dense(n_in, n_out, init="he", rng=rng, dtype=dtype))
        else:
            layers.append(_normal_dense(rng, n_in, n_out, SEED_E_SETTINGS["init_std"], "rows",
                                        dtype=dtype))
        if index < len(sizes) - 2:
            layers.append(nl.ReLU())
    return nl.Sequential(layers)


def split_seed_e(data) -> tuple[tuple, tuple]:
    """Hold out the *last* training images for validation, as the seed did.

    10,000 of MNIST's or Fashion-MNIST's 60,000; the same sixth of a smaller
    set (scikit-learn's digits).
    """
    from netlib.data import train_validation_split

    n = len(data.x_train)
    held_out = SEED_E_SETTINGS["validation"]
    if n < 6 * held_out:
        held_out = n // 6
    return train_validation_split(data.x_train, data.y_train, held_out, shuffle=False)


def seed_e(data=None, rng=0) -> SeedSetup:
    """Seed E: the layer-class tutorial's MNIST network, on the best data available.

    ``data`` is a :class:`netlib.data.Dataset`; by default
    :func:`netlib.data.load_image_dataset` picks Fashion-MNIST, then MNIST, then
    scikit-learn's digits, and ``data.name`` says which it was.
    """
    if data is None:
        from netlib.data import load_image_dataset

        data = load_image_dataset()
    (x, labels), validation = split_seed_e(data)
    dtype = np.dtype(SEED_E_SETTINGS["dtype"])
    model = seed_e_model(data.n_features, data.n_classes, rng=rng, dtype=dtype)
    settings = SEED_E_SETTINGS
    epochs = settings["epochs"] if len(x) >= settings["validation"] else SEED_E_SMALL_DATA_EPOCHS
    return SeedSetup(
        "E", f"the layer-class tutorial, trained on {data.name}", model,
        nl.SoftmaxCrossEntropy(), x, labels, lr=settings["lr"], epochs=epochs,
        batch_size=settings["batch_size"], shuffle=True, validation=validation,
        test=(data.x_test, data.y_test),
        facts={"architecture": f"{data.n_features} → 100 → 200 → {data.n_classes}, ReLUs",
               "layout": f"rows: X (batch, {data.n_features}), W (in, out)",
               "loss": "softmax cross-entropy from the logits",
               "data": f"{data.name}: {len(x)} train, {len(validation[0])} validation "
                       f"(the last ones), {len(data.x_test)} test",
               "init": "W ~ N(0, 0.01²), b = 0",
               "optimizer": f"SGD, lr {settings['lr']}, batches of {settings['batch_size']}, "
                            f"shuffled, {epochs} epochs"})


SEEDS = {"A": seed_a, "B": seed_b, "C": seed_c, "D": seed_d, "E": seed_e}


# -- layouts -------------------------------------------------------------------------------
def layer_in_layout(layer, layout: str):
    """The same layer for the other place of the batch (weights transposed)."""
    if isinstance(layer, nl.Dense):
        # rows: W is (in, out); columns: W is (out, in). The bias is per
        # output unit in both, so it is copied as it is.
        W = layer.params["W"] if layout == layer.layout else layer.params["W"].T
        return nl.Dense.from_params(W, layer.params.get("b"), layout=layout)
    if hasattr(layer, "layout"):
        return type(layer)(layout=layout)
    return copy.deepcopy(layer)          # elementwise layers do not care


def _transpose_data(value, layout_from: str, layout_to: str):
    value = np.asarray(value)
    # 1-D integer labels are the same in both layouts; 2-D arrays swap axes.
    if layout_from == layout_to or value.ndim != 2:
        return value.copy()
    return np.ascontiguousarray(value.T)


def in_layout(setup: SeedSetup, layout: str) -> SeedSetup:
    """The same network, data and loss with the batch on the other axis.

    The result computes the transpose of every activation: the loss value is
    the same and every weight gradient is the transpose of the original one.
    """
    if layout not in ("rows", "columns"):
        raise ValueError(f"in_layout: expected layout 'rows' or 'columns', got {layout!r}")
    old = setup.layout
    model = nl.Sequential([layer_in_layout(layer, layout) for layer in setup.model.layers])
    loss = type(setup.loss)(reduction=setup.loss.reduction, layout=layout)

    def move(pair):
        return None if pair is None else tuple(_transpose_data(v, old, layout) for v in pair)

    return replace(setup, model=model, loss=loss, x=_transpose_data(setup.x, old, layout),
                   target=_transpose_data(setup.target, old, layout),
                   validation=move(setup.validation), test=move(setup.test),
                   facts=dict(setup.facts))


def other_layout(setup: SeedSetup) -> SeedSetup:
    """:func:`in_layout` with the layout the seed did not use."""
    return in_layout(setup, "rows" if setup.layout == "columns" else "columns")


# -- using a setup ---------------------------------------------------------------------------
def take(x, index, layout: str):
    """Samples ``index`` of ``x`` (rows, or columns in column layout; 1-D labels as is)."""
    x = np.asarray(x)
    return x[:, index] if (layout == "columns" and x.ndim == 2) else x[index]


def samples_away_from_kinks(model: nl.Sequential, x, margin: float = 1e-3) -> np.ndarray:
    """Indices of the samples whose every ReLU input is at least ``margin`` from 0.

    A central difference across ReLU's kink measures a slope that is neither
    0 nor 1, so a finite-difference check must be taken where no ReLU input
    is within a step of 0. The steps a check takes move a ReLU input by
    about 1e-4 at most here, ten times less than the default ``margin``.
    """
    x = np.asarray(x)
    batch_axis = model.batch_axis
    keep = np.ones(x.shape[batch_axis], dtype=bool)
    h = x
    for layer in model.layers:
        if isinstance(layer, nl.ReLU):
            other = 1 - batch_axis
            keep &= (np.abs(h) >= margin).all(axis=other)
        h = layer.forward(h)
    return np.flatnonzero(keep)


def loss_value(setup: SeedSetup) -> float:
    """The loss of the current weights on the whole training set."""
    return setup.loss.forward(setup.model.forward(setup.x), setup.target)


def train(setup: SeedSetup, epochs: int | None = None, rng=0, n_samples: int | None = None,
          validation: bool = True) -> nl.History:
    """Train ``setup.model`` in place with the seed's settings; the per-epoch history.

    ``epochs`` and ``n_samples`` (the first samples only) shorten a run for a
    page; the step size, batch size and order are always the seed's.
    For full-batch descent the history's loss of epoch ``k`` is the loss at
    the start of step ``k``.
    """
    x, target = setup.x, setup.target
    if n_samples is not None:
        index = np.arange(n_samples)
        x, target = take(x, index, setup.layout), take(target, index, setup.layout)
    return nl.fit(setup.model, setup.loss, setup.optimizer(), x, target,
                  epochs=setup.epochs if epochs is None else epochs,
                  batch_size=min(setup.batch_size, x.shape[setup.model.batch_axis]),
                  rng=rng, shuffle=setup.shuffle,
                  validation=setup.validation if validation else None, progress=False)


def run_epochs(setup: SeedSetup, epochs: int, rng=0, on_epoch=None) -> dict[str, list]:
    """Train epoch by epoch with the seed's settings, measuring after each epoch.

    The shuffling generator is shared by all epochs, so ``k`` epochs here
    visit the samples in the same order as the first ``k`` epochs of a
    longer run with the same ``rng``: a short run on a page reproduces the
    beginning of :mod:`examples.seed_e_full`'s cached run.

    Returns per-epoch lists: ``train_loss``, ``train_accuracy`` (averaged
    over the epoch's batches), ``val_loss``, ``val_accuracy``,
    ``test_accuracy`` (when the setup has a test set; never used to choose
    anything) and ``seconds`` (training time of the epoch).
    ``on_epoch(epoch, record)`` is called after each epoch (e.g. to keep
    the weights of the best validation epoch).

    The BLAS library is held to one thread while this runs. A float32 matrix
    product can round differently when its work is split over another number
    of threads, so only a fixed thread count makes two runs agree bit for
    bit; one thread is also the fastest for these small products when the
    cores are shared.
    """
    with one_blas_thread():
        return _run_epochs(setup, epochs, rng, on_epoch)


def one_blas_thread():
    """A context in which BLAS uses one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run_epochs(setup, epochs, rng, on_epoch):
    generator = np.random.default_rng(rng)
    record: dict[str, list] = {"epoch": [], "train_loss": [], "train_accuracy": [],
                               "val_loss": [], "val_accuracy": [], "test_accuracy": [],
                               "seconds": []}
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        history = train(setup, epochs=1, rng=generator, validation=False)
        record["seconds"].append(time.perf_counter() - started)
        record["epoch"].append(epoch)
        record["train_loss"].append(history.train_loss[-1])
        record["train_accuracy"].append(history.train_accuracy[-1])
        for split, pair in (("val", setup.validation), ("test", setup.test)):
            if pair is None:
                continue
            loss, accuracy = nl.evaluate(setup.model, setup.loss, *pair)
            if split == "val":
                record["val_loss"].append(loss)
            record[f"{split}_accuracy"].append(accuracy)
        if on_epoch is not None:
            on_epoch(epoch, record)
    return record


class BestEpoch:
    """An ``on_epoch`` callback for :func:`run_epochs`: keeps the best validation epoch.

    On a tie the later epoch wins (it has trained longer for the same
    validation score). The test set is never looked at.
    """

    def __init__(self, setup: SeedSetup) -> None:
        self.setup = setup
        self.epoch, self.accuracy, self.weights = 0, -1.0, None

    def __call__(self, epoch: int, record: dict) -> None:
        accuracy = record["val_accuracy"][-1]
        if accuracy >= self.accuracy:
            self.epoch, self.accuracy = epoch, accuracy
            self.weights = {k: v.copy() for k, v in self.setup.model.parameters().items()}

    def restore(self) -> None:
        """Copy the kept weights back into the model."""
        for key, value in self.weights.items():
            self.setup.model.parameters()[key][...] = value


def registry_entries(model: nl.Sequential, loss: nl.Loss) -> list[str]:
    """Names of the registry entries for the layers and the loss of a seed, in order.

    The page runs :func:`derivations.verify.run_checks` on these names: the
    per-layer symbolic checks of every building block of the network.
    """
    names = []
    for layer in model.layers:
        if isinstance(layer, nl.Dense):
            # The registry states the bias-free layer in row layout; a bias-free
            # column layer is that map transposed, so both entries apply.
            found = ["dense" if layer.layout == "rows" else "dense_columns"]
            if "b" not in layer.params:
                found = ["dense_no_bias"] + (["dense_columns"] if layer.layout == "columns"
                                             else [])
        else:
            found = [layer.name]
        names += [name for name in found if name not in names]
    names.append(loss.name)
    return names
