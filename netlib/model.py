r"""``Sequential``: a chain of layers, and backprop as a chain of VJPs.

For :math:`y = f_L(\dots f_2(f_1(x)))` the chain rule for the flattened
Jacobians reads :math:`J = J_L \cdots J_2 J_1`, so

.. math:: J^\top g = J_1^\top \big(J_2^\top \cdots (J_L^\top g)\big):

``backward`` hands the upstream gradient to the last layer and each layer's
input gradient to the layer before it. No Jacobian is ever multiplied out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from netlib._validation import check_finite_x, check_layer_object
from netlib.layers.base import Layer, forward_checked_upstream


class Parameters(dict):
    """``Sequential.parameters()``: a plain dict, marked as holding parameters.

    The mark costs nothing and lets an optimizer refuse
    ``step(grads, params)``, arguments swapped: with plain dicts the swap
    passes every key and shape check and silently moves the gradients.
    """


class Gradients(dict):
    """``Sequential.gradients()``: a plain dict, marked as holding gradients."""


class Sequential:
    """Layers applied one after the other.

    Parameters
    ----------
    layers : iterable of Layer
        The layers, first applied first.
    layout : {"rows", "columns"}, optional, keyword only
        Where the batch lives in ``x``. Inferred from the layers that have a
        layout (``Dense``, ``Softmax``...); they must all agree. A model
        without such layers is in rows unless told otherwise; ``fit`` and
        ``evaluate`` refuse a loss of the other layout.

    Examples
    --------
    >>> import numpy as np
    >>> from netlib import Dense, ReLU
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential([Dense(4, 8, rng=rng), ReLU(), Dense(8, 3, rng=rng)])
    >>> model.forward(rng.standard_normal((5, 4))).shape
    (5, 3)
    >>> sorted(model.parameters())
    ['0.W', '0.b', '2.W', '2.b']
    """

    def __init__(self, layers: Iterable[Layer], *more_layers,
                 layout: str | None = None) -> None:
        if more_layers or hasattr(layers, "forward") or isinstance(layers, type):
            # Sequential(Dense(...), ReLU()), as in PyTorch: one list is expected.
            given = [layers, *more_layers]
            names = ", ".join(_layer_name(layer) for layer in given)
            raise TypeError(f"Sequential: expected one list of layers, got {len(given)} "
                            f"separate argument{'s' if len(given) > 1 else ''} ({names}); "
                            f"put them in a list: Sequential([{names}])")
        if not isinstance(layers, Iterable) or isinstance(layers, (str, bytes)):
            raise TypeError(f"Sequential: expected a list of layers, got "
                            f"{type(layers).__name__} {layers!r}")
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            check_layer_object("Sequential", layer, f"at position {index}")
        if layout not in (None, "rows", "columns"):
            raise ValueError(f"Sequential: expected layout 'rows' or 'columns', got {layout!r}")
        layouts = {getattr(layer, "layout", None) for layer in self.layers} - {None}
        if layout is not None:
            layouts.add(layout)
        if len(layouts) > 1:
            found = [f"{i}: {layer!r}" for i, layer in enumerate(self.layers)
                     if getattr(layer, "layout", None) is not None]
            raise ValueError(f"Sequential: expected all layers in one layout, got a mix of "
                             f"{sorted(layouts)} ({'; '.join(found)})")
        #: Whether the layout was given or found in a layer (``False``: the
        #: default "rows" of a model such as ``Sequential([ReLU()])``).
        self.layout_known = bool(layouts)
        self.layout = layouts.pop() if layouts else "rows"
        self.batch_axis = 0 if self.layout == "rows" else 1

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], layout={self.layout!r})"

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def forward(self, x: np.ndarray, *, check_finite_input: bool = True) -> np.ndarray:
        """Apply every layer in turn, keeping what backward needs."""
        x = np.asarray(x)
        if check_finite_input:
            check_finite_x("Sequential", x)
        # Checked once here (or by fit, once for all batches); the layers do
        # not scan it again.
        for layer in self.layers:
            x = forward_checked_upstream(layer, x)
        return x

    __call__ = forward

    def backward(self, g: np.ndarray) -> np.ndarray:
        r"""Backpropagate ``g = dL/dy``: fill every layer's grads and return ``dL/dx``.

        The chain of VJPs, evaluated from the innermost bracket out:

        .. math:: \frac{\partial L}{\partial x} = J^\top g
                  = J_1^\top \big(J_2^\top \cdots (J_L^\top g)\big)

        Each layer turns the gradient of its output into the gradient of its
        input (filling its parameter gradients on the way) and hands it to the
        layer before it.
        """
        for layer in reversed(self.layers):
            g = layer.backward(g)
        return g

    def backward_without_input_gradient(self, g: np.ndarray) -> None:
        """:meth:`backward` for training: the same parameter gradients, no ``dL/dx``.

        ``dL/dx`` is the gradient of the *data*, which training never uses, so
        the first layer is told (``Layer.input_gradient``) that it may skip
        it: for a first ``Dense`` layer that is a matrix product as large as its
        forward one. This is what :func:`netlib.fit` calls; the chain itself is
        :meth:`backward`, unchanged.
        """
        first = self.layers[0] if self.layers else None
        if not hasattr(first, "input_gradient"):    # no layers, or a layer without the switch
            self.backward(g)
            return
        previous, first.input_gradient = first.input_gradient, False
        try:
            self.backward(g)
        finally:
            first.input_gradient = previous     # restored, even after an error

    def train(self, mode: bool = True) -> Sequential:
        """Put every layer in training (``True``) or inference mode."""
        for layer in self.layers:
            if hasattr(layer, "train"):
                layer.train(mode)
        return self

    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Forward pass in inference mode, optionally in chunks of ``batch_size``."""
        modes = [getattr(layer, "training", True) for layer in self.layers]
        self.train(False)
        try:
            if batch_size is None:
                return self.forward(x)
            x = np.asarray(x)
            if x.shape[self.batch_axis] == 0:      # no samples: no chunks to concatenate
                return self.forward(x)
            chunks = [self.forward(np.take(x, range(start, min(start + batch_size,
                                                                  x.shape[self.batch_axis])),
                                           axis=self.batch_axis))
                      for start in range(0, x.shape[self.batch_axis], batch_size)]
            return np.concatenate(chunks, axis=self.batch_axis)
        finally:
            for layer, mode in zip(self.layers, modes, strict=True):
                if hasattr(layer, "train"):
                    layer.train(mode)

    def parameters(self) -> Parameters:
        """All parameters, keyed ``"<layer index>.<name>"`` (the arrays themselves)."""
        return Parameters((f"{i}.{key}", value) for i, layer in enumerate(self.layers)
                          for key, value in layer.params.items())

    def gradients(self) -> Gradients:
        """All parameter gradients, keyed like :meth:`parameters`."""
        return Gradients((f"{i}.{key}", value) for i, layer in enumerate(self.layers)
                         for key, value in layer.grads.items())


def _layer_name(layer) -> str:
    """How a layer is written in a message: ``Dense(4, 3)``, ``ReLU()``."""
    if isinstance(layer, type):
        return f"{layer.__name__}()"
    text = repr(layer)
    return text if text.endswith(")") else f"{text}()"
