"""The training loop: shuffled minibatches, epochs, and a history to plot."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from netlib._validation import check_finite, positive_ints
from netlib.losses import Loss
from netlib.model import Sequential
from netlib.optim import Optimizer


@dataclass
class History:
    """Per-epoch metrics of a :func:`fit` run, as plain lists (easy to plot).

    ``train_loss`` and ``train_accuracy`` are averages over the epoch's
    minibatches, weighted by batch size, measured while the weights moved;
    the validation metrics are measured on the whole validation set after
    the epoch. Accuracies are ``None`` for regression losses, validation
    metrics ``None`` when no validation data was given.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        """The history as a dict of lists (for ``pandas.DataFrame`` or JSON)."""
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


def _batch_slice(x, index, axis):
    """The samples ``index`` of ``x`` along the batch axis, as a new array.

    ``np.take`` rather than ``x[index]``: the same copy, but fancy indexing
    takes a more general path (measured in ``benchmarks/README.md``).
    """
    return np.take(x, index, axis=axis)


def evaluate(model: Sequential, loss: Loss, x, y, batch_size: int = 1024):
    """Loss and accuracy of ``model`` on ``(x, y)`` in inference mode."""
    pred = model.predict(x, batch_size=batch_size)
    return loss.forward(pred, y), loss.accuracy(pred, y)


def fit(model: Sequential, loss: Loss, optimizer: Optimizer, x, y, *, epochs: int = 1,
        batch_size: int = 32, rng: np.random.Generator | int | None = None,
        validation: tuple | None = None, shuffle: bool = True,
        progress: bool | None = None) -> History:
    """Train ``model`` on ``(x, y)`` with minibatch gradient descent.

    Each epoch visits every sample once, in an order drawn from ``rng`` (a
    ``numpy.random.Generator`` or a seed), in minibatches of ``batch_size``
    (the last one may be smaller). Per batch: forward, loss, backward,
    ``optimizer.step``.

    Parameters
    ----------
    model, loss, optimizer
        What to train, what to minimise, how to step.
    x, y : array
        Inputs (``(n, features)``, or ``(features, n)`` for a column-layout
        model) and targets in the form ``loss`` expects.
    epochs, batch_size : int
        Passes over the data and samples per step.
    rng : Generator or int, optional
        Shuffling randomness; fix it for a reproducible run.
    validation : (x_val, y_val), optional
        Evaluated after each epoch.
    shuffle : bool
        Shuffle the order each epoch (``False`` keeps the data order).
    progress : bool, optional
        Show a tqdm progress bar; by default only when stderr is a terminal.

    Returns
    -------
    History
    """
    from tqdm.auto import tqdm

    if not isinstance(model, Sequential):
        raise TypeError(f"fit: expected a netlib Sequential model, got {type(model).__name__}")
    positive_ints("fit", epochs=epochs, batch_size=batch_size)
    axis = model.batch_axis
    x = np.asarray(x)
    if x.dtype.kind == "f":            # integer input is for Embedding; the layer checks it
        check_finite("fit", "x", x)    # once here instead of once per batch
    y = np.asarray(y)
    n = x.shape[axis]
    n_y = y.shape[0] if (y.ndim == 1 or axis == 0) else y.shape[axis]
    if n_y != n:
        raise ValueError(f"fit: expected as many targets as samples ({n}), got {n_y} "
                         f"(x has shape {x.shape}, y has shape {y.shape})")
    rng = np.random.default_rng(rng)
    if progress is None:
        progress = sys.stderr.isatty()
    history = History()
    model.train(True)
    bar = tqdm(total=epochs * n, unit="sample", disable=not progress, leave=True)
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n) if shuffle else np.arange(n)
            total_loss, correct, seen = 0.0, 0.0, 0
            for start in range(0, n, batch_size):
                index = order[start:start + batch_size]
                xb = _batch_slice(x, index, axis)
                yb = y[index] if (y.ndim == 1 or axis == 0) else y[:, index]
                pred = model.forward(xb, check_finite_input=False)
                batch_loss = loss.forward(pred, yb)
                # The data's own gradient is never used: skip computing it.
                model.backward_without_input_gradient(loss.backward())
                optimizer.step(model.parameters(), model.gradients())
                size = len(index)
                total_loss += batch_loss * size
                accuracy = loss.accuracy(pred, yb)
                correct = None if accuracy is None else correct + accuracy * size
                seen += size
                bar.update(size)
            history.epoch.append(epoch)
            history.train_loss.append(total_loss / seen)
            history.train_accuracy.append(None if correct is None else correct / seen)
            if validation is not None:
                val_loss, val_accuracy = evaluate(model, loss, *validation)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
                bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val_loss=f"{val_loss:.4f}")
            else:
                history.val_loss.append(None)
                history.val_accuracy.append(None)
                bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}")
    finally:
        bar.close()
    return history
