"""Input checks shared by layers, losses and models.

Every check raises ``TypeError`` (wrong kind of array) or ``ValueError`` (wrong
shape or value) with a message of the form ``"<who>: expected <what>, got
<what>"``, so that a user sees which layer refused the input and why, instead
of a numpy broadcasting accident three calls later.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(who: str, name: str, value, dtype=None) -> np.ndarray:
    """Return ``value`` as a float32/float64 array, refusing non-float input.

    Integer, boolean, complex and object arrays raise ``TypeError``: silently
    casting integer pixels or labels to floats hides mistakes (a label array
    passed where logits belong). If ``dtype`` is given, a float input of the
    other precision is converted to it (the parameters decide the dtype).
    """
    array = np.asarray(value)
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{who}: expected {name} as a float32 or float64 array, got dtype "
            f"{array.dtype} (convert with .astype(np.float64) if that is what you mean)"
        )
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def positive_ints(who: str, **sizes) -> tuple[int, ...]:
    """Refuse sizes that are not positive integers; return them as ints, in order.

    ``positive_ints("Dense", in_features=3, out_features=2)`` returns ``(3, 2)``;
    ``in_features=0`` or ``2.5`` raises ``ValueError`` naming ``in_features``.
    """
    for label, size in sizes.items():
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{who}: expected {label} to be a positive integer, got {size!r}")
    return tuple(int(size) for size in sizes.values())


def float_dtype(who: str, dtype) -> np.dtype:
    """The parameters' dtype as ``np.dtype``, refusing anything but float32/float64."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{who}: expected dtype float32 or float64, got {dtype}")
    return dtype


def check_ndim(who: str, name: str, array: np.ndarray, ndim: int, layout: str) -> None:
    """Refuse arrays of the wrong rank, naming the axes the layer expects."""
    if array.ndim != ndim:
        raise ValueError(
            f"{who}: expected {name} with {ndim} dimensions {layout}, got shape {array.shape}"
        )


def check_axis_size(who: str, name: str, array: np.ndarray, axis: int, size: int,
                    expected_shape: str) -> None:
    """Refuse an array whose ``axis`` does not have ``size`` entries."""
    if array.shape[axis] != size:
        raise ValueError(
            f"{who}: expected {name} of shape {expected_shape}, got shape {array.shape}"
        )


def check_finite(who: str, name: str, array: np.ndarray) -> None:
    """Refuse NaN and infinity, reporting how many entries and the first index."""
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise ValueError(
            f"{who}: expected finite values in {name}, got {len(bad)} non-finite "
            f"entries (first at index {tuple(int(i) for i in bad[0])})"
        )


def check_same_shape(who: str, name: str, array: np.ndarray, shape: tuple, what: str) -> None:
    """Refuse an upstream gradient (or target) whose shape differs from ``shape``."""
    if array.shape != tuple(shape):
        raise ValueError(f"{who}: expected {name} of shape {tuple(shape)} ({what}), "
                         f"got shape {array.shape}")
