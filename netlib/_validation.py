"""Input checks shared by layers, losses and models.

Every check raises ``TypeError`` (wrong kind of array) or ``ValueError`` (wrong
shape or value) with a message of the form ``"<who>: expected <what>, got
<what>"``, so that a user sees which layer refused the input and why, instead
of a numpy broadcasting accident three calls later.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class NonFiniteError(ValueError):
    """A NaN or an infinity where finite numbers are needed.

    A ``ValueError`` like every other refused value; its own class lets
    :func:`netlib.fit` tell weights that blew up (non-finite predictions from
    finite data) apart from every other mistake, and report divergence.
    """


def _conversion_hint(dtype: np.dtype) -> str:
    """What to do about an array of ``dtype`` where floats were expected."""
    if dtype.kind == "c":
        return ("netlib computes with real numbers; if the imaginary parts are zero, "
                "pass .real, else split real and imaginary parts into features")
    if dtype.kind in "USO":
        return ("text or Python objects are not numbers; parse numbers from text first, "
                "e.g. np.asarray(values, dtype=np.float64)")
    if dtype.kind == "b":
        return "convert a mask with .astype(np.float64) if it is meant as 0/1 values"
    return "convert with .astype(np.float64) if that is what you mean"


def as_float_array(who: str, name: str, value, dtype=None) -> np.ndarray:
    """Return ``value`` as a float32/float64 array, refusing non-float input.

    Integer, boolean, complex and object arrays raise ``TypeError``: silently
    casting integer pixels or labels to floats hides mistakes (a label array
    passed where logits belong). If ``dtype`` is given, a float input of the
    other precision is converted to it (the parameters decide the dtype).
    """
    try:
        array = np.asarray(value)
    except ValueError as error:     # ragged nested lists
        raise TypeError(f"{who}: expected {name} as a float32 or float64 array, got a "
                        f"{type(value).__name__} numpy cannot make an array of ({error})") \
            from None
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{who}: expected {name} as a float32 or float64 array, got dtype "
            f"{array.dtype} ({_conversion_hint(array.dtype)})"
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


def real_number(who: str, name: str, value) -> float:
    """``value`` as a Python float, refusing text, booleans and complex numbers.

    ``SGD(lr="0.1")`` would otherwise fail deep inside numpy (``np.isfinite``
    of a string), and ``lr=True`` would quietly train with a rate of 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        shown = f"{type(value).__name__} {value!r}"
        fix = (f" (write {name}={value.strip()} without quotes)"
               if isinstance(value, str) and _parses_as_float(value) else "")
        raise TypeError(f"{who}: expected {name} as a real number such as 0.1, "
                        f"got {shown}{fix}")
    return float(value)


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def check_finite(who, name: str, array: np.ndarray) -> None:
    """Refuse NaN and infinity, reporting how many entries and the first index.

    One pass of ``np.isfinite`` when all is well; the count, the index and
    ``who`` (a string, or a function returning one such as a layer's
    ``describe``, so that hot paths do not format it) only for the message.
    """
    finite = np.isfinite(array)
    if not np.logical_and.reduce(finite, axis=None):
        bad = np.argwhere(~finite)
        who = who() if callable(who) else who
        raise NonFiniteError(
            f"{who}: expected finite values in {name}, got {len(bad)} non-finite "
            f"{'entry' if len(bad) == 1 else 'entries'} (NaN or infinity; first at index "
            f"{tuple(int(i) for i in bad[0])})"
        )


def check_same_shape(who: str, name: str, array: np.ndarray, shape: tuple, what: str) -> None:
    """Refuse an upstream gradient (or target) whose shape differs from ``shape``."""
    if array.shape != tuple(shape):
        raise ValueError(f"{who}: expected {name} of shape {tuple(shape)} ({what}), "
                         f"got shape {array.shape}")


def check_finite_x(who, x: np.ndarray) -> None:
    """:func:`check_finite` for a network's or a layer's input ``x``, if it is float.

    Only float input can hold NaN or infinity; integer input (``Embedding``'s
    token indices) goes on to the layer, which checks its dtype. This is the
    one check ``Sequential.forward``, ``Layer.forward`` and ``fit`` share, so
    that each array is scanned once, at the entrance of whatever receives it.
    """
    if x.dtype.kind == "f":
        check_finite(who, "x", x)


def check_not_empty(who: str, name: str, array: np.ndarray, axis: int) -> None:
    """Refuse a batch of zero samples: a mean over nothing has no value."""
    if array.shape[axis] == 0:
        raise ValueError(f"{who}: expected at least one sample in {name}, got shape "
                         f"{array.shape} (an empty batch; check how the data was sliced "
                         f"or filtered)")


def check_layer_object(who: str, layer, where: str) -> None:
    """Refuse what is not a layer *instance*, naming the likely mistake.

    The three mistakes a newcomer makes: the class instead of an instance
    (``ReLU`` for ``ReLU()``, which has ``forward`` as a plain function, so a
    duck-typing check alone lets it through), a loss among the layers (it goes
    to ``fit``), and an optimizer or any other object.
    """
    if isinstance(layer, type):
        raise TypeError(f"{who}: expected a layer instance {where}, got the class "
                        f"{layer.__name__} itself (call it: {_call_of(layer)})")
    # Imported here: losses and optimizers import this module.
    from netlib.losses import Loss
    from netlib.optim import Optimizer

    for kind, cls in (("loss", Loss), ("optimizer", Optimizer)):
        if isinstance(layer, cls):
            raise TypeError(f"{who}: expected a layer {where}, got the {kind} {layer!r}; "
                            f"a{'n' if kind[0] == 'o' else ''} {kind} is not a layer: pass it "
                            f"to fit(model, loss, optimizer, x, y)")
    if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
        shown = _short_repr(layer)
        if not shown.startswith(type(layer).__name__):
            shown = f"{type(layer).__name__} {shown}"
        raise TypeError(f"{who}: expected a layer with forward and backward {where}, got "
                        f"{shown}")


def _call_of(cls: type) -> str:
    """``ReLU()`` for a class that needs no arguments, ``Dense(...)`` otherwise."""
    import inspect

    try:
        required = [p for p in inspect.signature(cls).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                           p.POSITIONAL_OR_KEYWORD,
                                                           p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = [None]
    return f"{cls.__name__}({'...' if required else ''})"


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
