"""The training loop: shuffled minibatches, epochs, and a history to plot.

:func:`fit` checks everything it is given before the first step (so a
mistake costs no training time), watches the loss for divergence, and
reports each epoch (see :mod:`netlib._progress`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from netlib._fit_checks import check_data, check_fit_objects, check_validation
from netlib._progress import EpochReport
from netlib._validation import NonFiniteError, positive_ints, real_number
from netlib.losses import Loss
from netlib.model import Sequential
from netlib.optim import Optimizer

#: The per-epoch lists of a :class:`History` (what :meth:`History.as_dict` returns).
METRICS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")


class TrainingDivergedWarning(RuntimeWarning):
    """:func:`fit` stopped because the loss became non-finite or exploded.

    A warning, not an exception: the history so far is returned (with
    ``diverged`` set), and the model keeps the parameters of the last epoch
    that ended well. ``warnings.simplefilter("error", TrainingDivergedWarning)``
    turns it into an exception.
    """


@dataclass
class History:
    """Per-epoch metrics of a :func:`fit` run, as plain lists (easy to plot).

    ``train_loss`` and ``train_accuracy`` are averages over the epoch's
    minibatches, weighted by batch size, measured while the weights moved;
    the validation metrics are measured on the whole validation set after
    the epoch. Accuracies are ``None`` for regression losses, validation
    metrics ``None`` when no validation data was given.

    ``diverged`` says whether training stopped early because the loss
    diverged; ``stop_reason`` then holds the message (also issued as a
    :class:`TrainingDivergedWarning`). The lists hold the finished epochs only.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    diverged: bool = False
    stop_reason: str | None = None

    def as_dict(self) -> dict[str, list]:
        """The per-epoch lists as a dict (for ``pandas.DataFrame`` or JSON)."""
        return {name: list(getattr(self, name)) for name in METRICS}


def _batch_slice(x, index, axis):
    """The samples ``index`` of ``x`` along the batch axis, as a new array.

    ``np.take`` rather than ``x[index]``: the same copy, but fancy indexing
    takes a more general path (measured in ``benchmarks/README.md``).
    """
    return np.take(x, index, axis=axis)


def evaluate(model: Sequential, loss: Loss, x, y, batch_size: int = 1024):
    """Loss and accuracy of ``model`` on ``(x, y)`` in inference mode.

    Refuses what :func:`fit` refuses: swapped arguments, a loss of the other
    layout, no samples, as many targets as samples.
    """
    check_fit_objects("evaluate", model, loss)
    positive_ints("evaluate", batch_size=batch_size)
    x, y = check_data("evaluate", model, x, y)
    pred = model.predict(x, batch_size=batch_size)
    return loss.forward(pred, y), loss.accuracy(pred, y)


class _Diverged(Exception):
    """Internal: raised inside an epoch, turned into the warning by :func:`fit`."""

    def __init__(self, what: str, batch: str = "") -> None:
        super().__init__(what)
        self.what, self.batch = what, batch


def fit(model: Sequential, loss: Loss, optimizer: Optimizer, x, y, *, epochs: int = 1,
        batch_size: int = 32, rng: np.random.Generator | int | None = None,
        validation: tuple | None = None, shuffle: bool = True,
        progress: bool | None = None, verbose: bool | None = None,
        diverge_factor: float | None = 10.0) -> History:
    """Train ``model`` on ``(x, y)`` with minibatch gradient descent.

    Each epoch visits every sample once, in an order drawn from ``rng`` (a
    ``numpy.random.Generator`` or a seed), in minibatches of ``batch_size``
    (the last one may be smaller). Per batch: forward, loss, backward,
    ``optimizer.step``.

    Parameters
    ----------
    model, loss, optimizer
        What to train, what to minimise, how to step (in this order).
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
        A tqdm bar over the epochs (epoch i/n, loss, validation loss and
        accuracy). By default shown when stderr is a terminal.
    verbose : bool, optional
        One line per epoch on stderr. By default printed when stderr is not
        a terminal (a log file, CI) and ``progress`` is not given;
        ``progress=False`` alone keeps ``fit`` silent.
    diverge_factor : float or None
        Stop when an epoch's training loss exceeds ``diverge_factor`` times
        the first epoch's (``None``: only a non-finite loss stops training).

    Returns
    -------
    History
        If the loss diverged (became NaN or infinite, or exploded as above),
        training stops, a :class:`TrainingDivergedWarning` names the epoch and
        the learning rate, the model gets back the parameters it had at the
        end of the last good epoch (or before training), and the history
        holds the finished epochs with ``diverged=True``.
    """
    check_fit_objects("fit", model, loss, optimizer)
    epochs, batch_size = positive_ints("fit", epochs=epochs, batch_size=batch_size)
    if diverge_factor is not None and not real_number("fit", "diverge_factor",
                                                      diverge_factor) > 1:
        raise ValueError(f"fit: expected diverge_factor > 1 (or None), got {diverge_factor!r}")
    axis = model.batch_axis
    x, y = check_data("fit", model, x, y)
    validation = check_validation(model, validation)
    rng = np.random.default_rng(rng)
    history = History()
    parameters = model.parameters()
    last_good = {key: value.copy() for key, value in parameters.items()}
    model.train(True)
    report = EpochReport(epochs, progress, verbose)
    try:
        for epoch in range(1, epochs + 1):
            try:
                train_loss, train_accuracy = _one_epoch(model, loss, optimizer, x, y, axis,
                                                        rng, shuffle, batch_size)
                val_loss = val_accuracy = None
                if validation is not None:
                    val_loss, val_accuracy = _validate(model, loss, validation)
                if (diverge_factor is not None and history.train_loss
                        and train_loss > diverge_factor * history.train_loss[0]):
                    raise _Diverged(f"the loss {train_loss:.4g} is more than diverge_factor="
                                    f"{diverge_factor:g} times the first epoch's "
                                    f"{history.train_loss[0]:.4g}")
            except _Diverged as diverged:
                _stop(history, model, optimizer, last_good, epoch, epochs, diverged)
                break
            history.epoch.append(epoch)
            history.train_loss.append(train_loss)
            history.train_accuracy.append(train_accuracy)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_accuracy)
            for key, value in parameters.items():
                np.copyto(last_good[key], value)
            report.epoch_done(epoch, train_loss, train_accuracy, val_loss, val_accuracy)
    finally:
        report.close()
    if history.diverged:
        warnings.warn(history.stop_reason, TrainingDivergedWarning, stacklevel=2)
    return history


def _one_epoch(model, loss, optimizer, x, y, axis, rng, shuffle, batch_size):
    """Train one pass over the data; return its mean loss and accuracy."""
    n = x.shape[axis]
    order = rng.permutation(n) if shuffle else np.arange(n)
    n_batches = -(-n // batch_size)
    total_loss, correct, seen = 0.0, 0.0, 0
    for number, start in enumerate(range(0, n, batch_size), start=1):
        index = order[start:start + batch_size]
        xb = _batch_slice(x, index, axis)
        yb = y[index] if (y.ndim == 1 or axis == 0) else y[:, index]
        pred = model.forward(xb, check_finite_input=False)     # x was checked once
        try:
            batch_loss = loss.forward(pred, yb)
        except NonFiniteError:
            # x and y were checked finite before training: the weights blew up.
            raise _Diverged("the predictions became non-finite",
                            f"batch {number}/{n_batches}") from None
        if not math.isfinite(batch_loss):
            raise _Diverged(f"the loss became non-finite ({batch_loss})",
                            f"batch {number}/{n_batches}")
        # The data's own gradient is never used: skip computing it.
        model.backward_without_input_gradient(loss.backward())
        optimizer.step(model.parameters(), model.gradients())
        size = len(index)
        total_loss += batch_loss * size
        accuracy = loss.accuracy(pred, yb)
        correct = None if accuracy is None else correct + accuracy * size
        seen += size
    return total_loss / seen, (None if correct is None else correct / seen)


def _validate(model, loss, validation):
    """The validation loss and accuracy (the data were checked by fit)."""
    x_val, y_val = validation
    try:
        return evaluate(model, loss, x_val, y_val)
    except NonFiniteError:
        raise _Diverged("the predictions on the validation data became non-finite") from None


def _stop(history, model, optimizer, last_good, epoch, epochs, diverged) -> None:
    """Restore the last good parameters and record why training stopped."""
    for key, value in model.parameters().items():
        np.copyto(value, last_good[key])
    lr = getattr(optimizer, "lr", None)
    rate = (f"the learning rate lr={lr:g} of {type(optimizer).__name__} is likely too "
            f"large (try lr={lr / 10:g} with a new optimizer)" if lr is not None else
            "the learning rate is likely too large")
    where = f"epoch {epoch}/{epochs}" + (f", {diverged.batch}" if diverged.batch else "")
    kept = (f"the model keeps its parameters from the end of epoch {epoch - 1}"
            if epoch > 1 else "the model keeps its parameters from before training")
    history.diverged = True
    history.stop_reason = (f"fit: training diverged in {where}: {diverged.what}; {rate}. "
                           f"Stopped; {kept}, and the history holds the {epoch - 1} "
                           f"finished epoch{'' if epoch == 2 else 's'}.")
