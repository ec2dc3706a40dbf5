"""The layer protocol every netlib layer follows.

Glossary (the same words everywhere in netlib, the derivations and the site):

``x``
    The layer's input, row layout ``(batch, features)`` unless the layer says
    otherwise.
``y``
    The layer's output.
``g``
    The *upstream gradient* ``dL/dy``: an array of ``y``'s shape.
"gradient"
    Always a vector-Jacobian product (VJP). ``backward(g)`` returns
    ``dL/dx = Jᵀ g`` reshaped to ``x``'s shape, where ``J[i, j] = dy_i/dx_j`` for
    the row-major flattened ``y`` and ``x``. A full Jacobian is never formed.

A layer keeps its parameters in ``params`` and their gradients in ``grads``,
keyed by the same names (``"W"``, ``"b"``...). ``forward`` stores what
``backward`` needs; ``backward`` fills ``grads`` and returns the input
gradient. No layer ever updates its own parameters: that is the optimizer's job.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import (
    FLOAT_DTYPES,
    as_float_array,
    check_finite_x,
    check_same_shape,
)

__all__ = ["Layer"]


def forward_checked_upstream(layer, x: np.ndarray) -> np.ndarray:
    """``layer.forward(x)`` for an ``x`` whose finiteness the caller has checked.

    Layers that use :meth:`Layer.forward` skip their own scan of ``x``; any
    other object (a layer overriding ``forward``, a duck-typed layer) is
    called plainly, so nothing is passed a keyword it does not take.
    """
    if type(layer).forward is Layer.forward:
        return layer.forward(x, check_finite_input=False)
    return layer.forward(x)


class Layer:
    """Base class: parameters, gradients, and the forward/backward contract.

    Subclasses implement :meth:`_forward` and :meth:`_backward`; this class
    does the bookkeeping common to all of them (dtype and shape checks of the
    upstream gradient, refusing ``backward`` before ``forward``).
    """

    #: Name used in error messages and in the derivation registry.
    name = "layer"

    #: Whether :meth:`backward` must return ``dL/dx``. Nobody needs the
    #: gradient of the *data*, so ``Sequential.backward_without_input_gradient``
    #: turns this off for its first layer during that call; a layer that can
    #: skip the work (``Dense`` saves a whole matrix product) returns ``None``.
    input_gradient = True

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._y_shape: tuple | None = None
        self._x_dtype: np.dtype | None = None

    # -- public API -----------------------------------------------------------
    def forward(self, x: np.ndarray, *, check_finite_input: bool = True) -> np.ndarray:
        """Compute ``y = f(x)`` and remember what :meth:`backward` needs.

        A NaN or an infinity in ``x`` is refused (one ``np.isfinite`` pass), as
        ``Sequential.forward`` refuses it for a whole network: otherwise it
        spreads silently through every output. ``Sequential`` scans its input
        once and calls its layers with ``check_finite_input=False``.
        """
        dtype = self.dtype
        # Speed: the common case (a float array already in the right dtype)
        # skips building the error-message prefix; anything else is checked.
        if not (type(x) is np.ndarray and x.dtype in FLOAT_DTYPES
                and (dtype is None or x.dtype == dtype)):
            x = as_float_array(self.describe(), "x", x, dtype)
        if check_finite_input:
            check_finite_x(self.describe, x)
        y = self._forward(x)
        self._y_shape = y.shape
        self._x_dtype = x.dtype
        return y

    __call__ = forward

    def backward(self, g: np.ndarray) -> np.ndarray:
        """Given ``g = dL/dy``, fill :attr:`grads` and return ``dL/dx``."""
        if self._y_shape is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        # Speed: as in forward, describe() only when a check has to run.
        if not (type(g) is np.ndarray and g.dtype == self._x_dtype
                and g.shape == self._y_shape):
            who = self.describe()
            g = as_float_array(who, "g (the upstream gradient dL/dy)", g, self._x_dtype)
            check_same_shape(who, "g", g, self._y_shape, "the shape of this layer's output y")
        return self._backward(g)

    def set_params(self, who: str | None = None, **values) -> Layer:
        """Copy given values into the parameters, refusing a wrong name or shape.

        The arrays in :attr:`params` stay the same objects (an optimizer or a
        ``Sequential.parameters()`` view keeps pointing at them); values are
        converted to the parameters' dtype. ``who`` names the caller in errors
        (e.g. ``"Dense.from_params"``).
        """
        who = who or f"{self.describe()}.set_params"
        for key, value in values.items():
            if key not in self.params:
                raise ValueError(f"{who}: expected parameters named {sorted(self.params)}, "
                                 f"got {key!r}")
            target = self.params[key]
            value = as_float_array(who, key, value, target.dtype)
            if value.shape != target.shape:
                raise ValueError(f"{who}: expected {key} of shape {target.shape}, "
                                 f"got shape {value.shape}")
            target[...] = value
        return self

    @property
    def dtype(self):
        """The computation dtype: the parameters' dtype, or ``None`` (input's)."""
        for value in self.params.values():
            return value.dtype
        return None

    def describe(self) -> str:
        """Short description used at the start of every error message."""
        return f"{type(self).__name__}"

    def __repr__(self) -> str:
        return self.describe()

    def train(self, mode: bool = True) -> Layer:
        """Switch training behaviour on or off (used by dropout/batch norm)."""
        self.training = mode
        return self

    # -- for subclasses -------------------------------------------------------
    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError
