r"""Losses: scalar functions of a batch of predictions and targets.

Conventions (the glossary page of the site states them once):

* A loss is a **mean over the batch** by default (``reduction="mean"``): the
  factor :math:`1/N` appears once, in the loss and hence in its gradient, and
  nowhere else in the network. ``reduction="sum"`` drops it.
* Within one sample, a loss **sums** over the output features.
* ``backward(g=1.0)`` returns :math:`g \cdot \partial L/\partial \hat y`, an
  array of the prediction's shape; ``g`` is the (scalar) upstream gradient,
  1 when the loss is the end of the chain.
* In ``layout="columns"`` predictions and one-hot targets are
  ``(features, batch)``; the loss is the same function of the transposed
  arrays and its gradient comes back transposed.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import (
    FLOAT_DTYPES,
    as_float_array,
    check_finite,
    check_ndim,
    check_not_empty,
    check_same_shape,
)
from netlib.layers.activations import sigmoid
from netlib.layers.dense import check_layout

REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class: reduction, layout and the forward/backward bookkeeping."""

    name = "loss"
    #: Name of the prediction in messages ("predictions", "logits", ...).
    pred_name = "predictions"

    def __init__(self, reduction: str = "mean", layout: str = "rows") -> None:
        who = type(self).__name__
        if reduction not in REDUCTIONS:
            raise ValueError(f"{who}: expected reduction 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        self.layout = check_layout(who, layout)
        self.batch_axis = 0 if layout == "rows" else 1
        self._grad: np.ndarray | None = None

    def describe(self) -> str:
        args = [] if self.reduction == "mean" else [f"reduction={self.reduction!r}"]
        args += [] if self.layout == "rows" else ["layout='columns'"]
        return f"{type(self).__name__}({', '.join(args)})"

    __repr__ = describe

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the loss of ``pred`` against ``target`` and keep its gradient."""
        # Speed: the logits' checks build their message prefix (describe())
        # only when they fail; a step of a small network is dominated by such
        # fixed costs.
        if not (type(pred) is np.ndarray and pred.dtype in FLOAT_DTYPES and pred.ndim == 2):
            who = self.describe()
            pred = as_float_array(who, self.pred_name, pred)
            where = "(batch, features)" if self.layout == "rows" else "(features, batch)"
            check_ndim(who, self.pred_name, pred, 2, where)
        check_finite(self.describe, self.pred_name, pred)
        rows = pred if self.layout == "rows" else pred.T
        if rows.shape[0] == 0:          # the mean over no samples is 0/0
            check_not_empty(self.describe(), self.pred_name, pred, self.batch_axis)
        target_rows = self._check_target(self.describe(), rows, target)
        # 1/N is applied exactly once, here, to both the value and the gradient.
        scale = 1.0 / rows.shape[0] if self.reduction == "mean" else 1.0
        value, grad = self._value_and_grad(rows, target_rows)
        grad *= rows.dtype.type(scale)
        self._grad = grad if self.layout == "rows" else grad.T
        return float(value) * scale

    __call__ = forward

    def backward(self, g: float = 1.0) -> np.ndarray:
        """Return ``g * dL/dpred``, of the prediction's shape (a new C-ordered array)."""
        if self._grad is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if type(g) is not float and np.ndim(g) != 0:   # a Python float: no call
            raise ValueError(f"{self.describe()}: expected a scalar upstream gradient g, "
                             f"got shape {np.shape(g)}")
        # order="C": a loss may keep its gradient as a transposed view (see
        # SoftmaxCrossEntropy); the layers below get the same memory order in
        # both layouts, hence the same BLAS calls and bitwise-equal results.
        return np.multiply(self._grad, self._grad.dtype.type(g), order="C")

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float | None:
        """Fraction of correctly classified samples, or ``None`` for regression."""
        return None

    # -- for subclasses (row layout) -------------------------------------------
    def _check_target(self, who, pred, target):
        """Validate ``target`` against row-layout ``pred``; return it in rows."""
        target = as_float_array(who, "target", target, pred.dtype)
        if self.layout == "columns":
            check_same_shape(who, "target", target, pred.T.shape, "the predictions' shape")
            target = target.T
        check_same_shape(who, "target", target, pred.shape, "the predictions' shape")
        check_finite(who, "target", target)
        return target

    def _value_and_grad(self, pred, target):
        """Sum over the batch of the per-sample loss, and its gradient."""
        raise NotImplementedError


def check_probability_target(who: str, target: np.ndarray, hint: str) -> None:
    """Refuse target values outside [0, 1]: a cross-entropy of them is meaningless.

    With ``t = 2`` the logistic loss is unbounded below and training pushes
    the logits to infinity; with ``t = -1`` likewise the other way. Both give
    a number, so without this check nothing says so.
    """
    if target.size and (np.minimum.reduce(target, axis=None) < 0
                        or np.maximum.reduce(target, axis=None) > 1):
        raise ValueError(f"{who}: expected target values in [0, 1] (probabilities, or "
                         f"labels 0 and 1), got values from {target.min():g} to "
                         f"{target.max():g}{hint}")


def _label_hint(target: np.ndarray) -> str:
    """The fix for targets outside [0, 1] that look like familiar label codings."""
    values = set(np.unique(target[:1000]).tolist())
    if values <= {-1.0, 1.0}:
        return " (labels -1/+1? map them with (t + 1) / 2)"
    if all(float(v).is_integer() for v in values):
        return (" (class numbers? for more than two classes use SoftmaxCrossEntropy with "
                "integer labels)")
    return ""


class MeanSquaredError(Loss):
    r"""Half the squared error, summed over features, averaged over the batch.

    .. math:: L = \frac1N \sum_{n} \tfrac12 \lVert \hat y_n - y_n \rVert^2, \qquad
              \frac{\partial L}{\partial \hat y} = \frac{\hat Y - Y}{N}

    The :math:`\tfrac12` cancels the 2 of the derivative (seed B's convention);
    without it the gradient doubles.
    """

    name = "mse"

    def _value_and_grad(self, pred, target):
        diff = pred - target
        return 0.5 * float(np.vdot(diff, diff)), diff


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy on probabilities :math:`p \in [0, 1]`.

    .. math:: L = -\frac1N \sum_{n,k} \big[t \log p + (1 - t)\log(1 - p)\big], \qquad
              \frac{\partial L}{\partial p} = \frac1N \frac{p - t}{p (1 - p)}

    ``p`` is clipped to :math:`[\epsilon, 1 - \epsilon]` (``ε`` the dtype's
    machine epsilon) so that neither log sees 0; the gradient is evaluated at the
    clipped ``p``, so a confidently wrong prediction still gets a large, finite
    push. Prefer :class:`BinaryCrossEntropyWithLogits` after a linear layer.
    """

    name = "bce"
    pred_name = "probabilities"

    def forward(self, pred, target):
        pred_array = np.asarray(pred)
        if pred_array.dtype.kind == "f" and np.isfinite(pred_array).all() and (
                (pred_array < 0).any() or (pred_array > 1).any()):
            raise ValueError(
                f"{self.describe()}: expected probabilities in [0, 1], got values from "
                f"{pred_array.min():.4g} to {pred_array.max():.4g} (for logits use "
                f"BinaryCrossEntropyWithLogits)")
        return super().forward(pred, target)

    def _check_target(self, who, pred, target):
        target = super()._check_target(who, pred, target)
        check_probability_target(who, target, _label_hint(target))
        return target

    def _value_and_grad(self, pred, target):
        eps = np.finfo(pred.dtype).eps
        p = np.clip(pred, eps, 1 - eps)
        value = -(target * np.log(p) + (1 - target) * np.log1p(-p)).sum()
        return value, (p - target) / (p * (1 - p))

    def accuracy(self, pred, target):
        return float(np.mean((np.asarray(pred) > 0.5) == (np.asarray(target) > 0.5)))


class BinaryCrossEntropyWithLogits(Loss):
    r"""Binary cross-entropy of :math:`p = \sigma(z)`, computed from the logits ``z``.

    .. math:: L = \frac1N \sum_{n,k} \big[\max(z, 0) - z t + \log(1 + e^{-|z|})\big], \qquad
              \frac{\partial L}{\partial z} = \frac{\sigma(z) - t}{N}

    The form on the left equals :math:`-t\log\sigma(z) - (1-t)\log(1-\sigma(z))`
    and never takes ``exp`` of a positive number, so it is finite for any ``z``.
    """

    name = "bce_logits"
    pred_name = "logits"

    def _check_target(self, who, pred, target):
        target = super()._check_target(who, pred, target)
        check_probability_target(who, target, _label_hint(target))
        return target

    def _value_and_grad(self, z, target):
        with np.errstate(under="ignore"):
            value = (np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))).sum()
        return value, sigmoid(z) - target

    def accuracy(self, pred, target):
        return float(np.mean((np.asarray(pred) > 0) == (np.asarray(target) > 0.5)))


class SoftmaxCrossEntropy(Loss):
    r"""Cross-entropy of the softmax of logits, against labels or one-hot targets.

    .. math:: L = \frac1N \sum_n \Big[\log\sum_k e^{z_{nk}} - \sum_k t_{nk} z_{nk}\Big],
              \qquad \frac{\partial L}{\partial Z} = \frac{\operatorname{softmax}(Z) - T}{N}

    ``target`` is either integer class labels of shape ``(batch,)`` or a float
    array of the logits' shape (one-hot or any distribution per sample).
    The log-sum-exp is max-shifted, so large logits do not overflow.
    """

    name = "softmax_cross_entropy"
    pred_name = "logits"

    def _check_target(self, who, pred, target):
        target = np.asarray(target)
        if target.dtype.kind in "iu":
            n, classes = pred.shape
            if target.shape != (n,):
                raise ValueError(self._label_shape_message(who, pred, target))
            # Kept as labels (no one-hot matrix): _value_and_grad picks the
            # labelled entries directly, which is cheaper per batch.
            labels = target.astype(np.intp, copy=False)
            # One reduction checks both ends: read as unsigned, a negative
            # label (or a uint64 beyond intp) becomes huge.
            if n and np.maximum.reduce(labels.view(np.uintp)) >= classes:
                raise ValueError(f"{who}: expected labels in [0, {classes - 1}] for "
                                 f"{classes} classes, got values from {target.min()} "
                                 f"to {target.max()}")
            return labels
        if target.dtype.kind == "f" and target.ndim == 1:
            raise TypeError(f"{who}: expected integer labels of shape (batch,) or a "
                            f"float target of the logits' shape, got a 1-D array of "
                            f"dtype {target.dtype} (use .astype(int) for labels)")
        target = super()._check_target(who, pred, target)
        self._check_distributions(who, target)
        return target

    def _label_shape_message(self, who, pred, target) -> str:
        """Integer labels of the wrong shape: one-hot rows as integers, or the layout."""
        n = pred.shape[0]
        logits_shape = pred.shape if self.layout == "rows" else pred.T.shape
        if target.shape == logits_shape:
            axis = 1 if self.layout == "rows" else 0
            return (f"{who}: expected integer labels of shape ({n},) or a float target of "
                    f"the logits' shape {logits_shape}, got an integer array of shape "
                    f"{target.shape}: one-hot rows as integers? pass the labels "
                    f"target.argmax(axis={axis}), or the one-hot array as floats, "
                    f"target.astype(np.float64)")
        hint = ""
        if target.ndim == 1 and len(target) == pred.shape[1]:
            hint = (" (as many labels as classes: are the logits (classes, batch)? then use "
                    "layout='columns' throughout)" if self.layout == "rows" else
                    " (layout='columns' reads the logits as (classes, batch); for logits "
                    "(batch, classes) use the default layout='rows')")
        return f"{who}: expected integer labels of shape ({n},), got shape {target.shape}{hint}"

    @staticmethod
    def _check_distributions(who, target) -> None:
        r"""Refuse float target rows that are not probability distributions.

        The loss :math:`\log\sum_k e^{z_k} - \sum_k t_k z_k` assumes
        :math:`\sum_k t_k = 1`. An all-zero row makes it a pure
        log-sum-exp that training lowers by pushing every logit down, and
        reports happily; a row summing to 2 doubles that sample's weight.
        """
        if target.size == 0:
            return
        tolerance = np.sqrt(np.finfo(target.dtype).eps)
        sums = np.add.reduce(target, axis=1)
        bad = np.abs(sums - 1) > tolerance * target.shape[1]
        if np.logical_or.reduce(bad) or np.minimum.reduce(target, axis=None) < 0:
            first = int(np.argmax(bad)) if bad.any() else int(np.argmin(target.min(axis=1)))
            raise ValueError(f"{who}: expected each target row to be a probability "
                             f"distribution (entries >= 0 summing to 1, e.g. one-hot), got "
                             f"row {first} = {np.array2string(target[first], threshold=8)} "
                             f"summing to {sums[first]:g} ({int(bad.sum())} rows do not "
                             f"sum to 1); for class labels pass integers of shape (batch,)")

    def _value_and_grad(self, z, target):
        # Work on a class-major copy zc of shape (classes, batch): the
        # reductions over the few classes of each sample then run along
        # contiguous rows of length batch, which numpy vectorises; along the
        # short inner axis of z itself it does not (benchmarks/README.md).
        # The gradient goes back as zc-shaped p transposed, a view.
        zc = np.ascontiguousarray(z.T)
        # Shift each sample by its maximum so that no exponential overflows;
        # the shift cancels in the softmax and in log p = shifted - log(total).
        shifted = zc - np.maximum.reduce(zc, axis=0)
        with np.errstate(under="ignore"):       # far-below-max entries -> 0, correctly
            p = np.exp(shifted)
        total = np.add.reduce(p, axis=0)
        p /= total                              # softmax(z), the gradient's first term
        log_total = np.log(total)
        if target.ndim == 1:
            # Integer labels: the one-hot row has a single 1, so
            # -sum_k t_k log p_k = log(total) - shifted[label], and p - onehot
            # only changes the labelled entry. No one-hot matrix is built.
            samples = np.arange(len(target))
            value = np.add.reduce(log_total) - np.add.reduce(shifted[target, samples])
            p[target, samples] -= 1
            return value, p.T
        value = -np.add.reduce(target.T * (shifted - log_total), axis=None)
        p -= target.T
        return value, p.T

    def accuracy(self, pred, target):
        axis = 1 if self.layout == "rows" else 0
        target = np.asarray(target)
        labels = target if target.ndim == 1 else target.argmax(axis=axis)
        return float(np.mean(np.asarray(pred).argmax(axis=axis) == labels))
