"""The checks :func:`netlib.fit` and :func:`netlib.evaluate` run before any work.

Each refuses one mistake with a message naming the argument, what was
expected, what was given and the likely fix. They look at types, shapes and
(once, for the whole data set) finiteness, so a run that starts is not
stopped by a mistake an epoch later.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import as_float_array, check_finite
from netlib.losses import Loss
from netlib.model import Sequential
from netlib.optim import Optimizer

_ORDER = "fit(model, loss, optimizer, x, y)"


def check_fit_objects(who: str, model, loss, optimizer=None) -> None:
    """Refuse a model, loss or optimizer of the wrong kind, or in the wrong order.

    ``optimizer`` is ``None`` for :func:`netlib.evaluate`. The loss's layout
    must be the model's: with as many samples as classes, a column-layout
    loss after a row-layout model gets arrays of the right shape and computes
    the loss of the transposed predictions, silently.
    """
    order = _ORDER if who == "fit" else "evaluate(model, loss, x, y)"
    if not isinstance(model, Sequential):
        if isinstance(model, (Loss, Optimizer)):
            raise TypeError(f"{who}: expected a netlib Sequential model first, got "
                            f"{model!r}; the order is {order}")
        raise TypeError(f"{who}: expected a netlib Sequential model, got "
                        f"{type(model).__name__} (wrap layers as Sequential([...]))")
    swapped = isinstance(loss, Optimizer) or isinstance(optimizer, Loss)
    if swapped:
        raise TypeError(f"{who}: expected a loss then an optimizer, got {loss!r} as the loss "
                        f"and {optimizer!r} as the optimizer (swapped?); the order is "
                        f"{order}")
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"{who}: expected a loss such as netlib.SoftmaxCrossEntropy() second, "
                        f"got {type(loss).__name__}; the order is {order}")
    if optimizer is not None and not hasattr(optimizer, "step"):
        raise TypeError(f"{who}: expected an optimizer such as netlib.SGD(0.1) third, got "
                        f"{type(optimizer).__name__}; the order is {order}")
    loss_layout = getattr(loss, "layout", "rows")
    if loss_layout != model.layout:
        if model.layout_known:
            fix = (f"build the loss with layout={model.layout!r}, or the model's layers "
                   f"with layout={loss_layout!r}")
        else:
            fix = (f"this model has no layer that sets a layout; build it as "
                   f"Sequential([...], layout={loss_layout!r}) or the loss with "
                   f"layout='rows'")
        raise ValueError(f"{who}: expected the loss in the model's layout "
                         f"{model.layout!r}, got {loss!r} in layout {loss_layout!r}; {fix}")


def _count_targets(y: np.ndarray, axis: int) -> int:
    """Targets in ``y``: labels ``(n,)`` always count along axis 0."""
    return y.shape[0] if (y.ndim == 1 or axis == 0) else y.shape[axis]


def check_data(who: str, model: Sequential, x, y, name: str = "x") -> tuple:
    """``x`` and ``y`` as arrays, refused if empty, non-finite or mismatched in count.

    ``x`` (if float) and a float ``y`` are scanned for NaN/infinity here,
    once for all epochs; then any non-finite value during training comes
    from the weights, which is how ``fit`` recognises divergence.
    """
    axis = model.batch_axis
    x, y = np.asarray(x), np.asarray(y)
    where = "(batch, features)" if axis == 0 else "(features, batch)"
    target = "y" if name == "x" else name.replace("x", "y")
    if x.ndim <= axis:
        raise ValueError(f"{who}: expected {name} with the samples along axis {axis} "
                         f"{where}, got shape {x.shape}")
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"{who}: expected at least one sample in {name}, got shape "
                         f"{x.shape} (no samples: check how the data was loaded, sliced or "
                         f"filtered)")
    if x.dtype.kind == "f":     # integer input is for Embedding, which checks it
        check_finite(who, name, x)
    if y.ndim == 0:
        raise ValueError(f"{who}: expected one target per sample in {target}, got a single "
                         f"value {y!r}")
    n_y = _count_targets(y, axis)
    if n_y != n:
        raise ValueError(f"{who}: expected as many targets as samples ({n}), got {n_y} "
                         f"({name} has shape {x.shape}, {target} has shape {y.shape})")
    if y.dtype.kind == "f":
        check_finite(who, target, y)
    elif y.dtype.kind not in "iub":
        as_float_array(who, target, y)      # raises, saying what the dtype is and what to do
    return x, y


def check_validation(model: Sequential, validation):
    """``validation`` as a checked pair ``(x_val, y_val)``, or ``None``."""
    if validation is None:
        return None
    if isinstance(validation, (float, int)) and not isinstance(validation, bool):
        raise TypeError(f"fit: expected validation=(x_val, y_val), a pair of arrays, got "
                        f"{validation!r}; to hold out a fraction of the data, split it first "
                        f"with netlib.data.train_validation_split(x, y, {validation!r})")
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        what = (f"a {type(validation).__name__} of {len(validation)} element"
                f"{'' if len(validation) == 1 else 's'}"
                if isinstance(validation, (tuple, list)) else type(validation).__name__)
        raise TypeError(f"fit: expected validation=(x_val, y_val), a pair of arrays, got "
                        f"{what}; pass both the inputs and the targets")
    return check_data("fit", model, validation[0], validation[1], name="x_val")
