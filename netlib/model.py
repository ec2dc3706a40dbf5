r"""``Sequential``: a chain of layers, and backprop as a chain of VJPs.

For :math:`y = f_L(\dots f_2(f_1(x)))` the chain rule for the flattened
Jacobians reads :math:`J = J_L \cdots J_2 J_1`, so

.. math:: J^\top g = J_1^\top \big(J_2^\top \cdots (J_L^\top g)\big):

``backward`` hands the upstream gradient to the last layer and each layer's
input gradient to the layer before it. No Jacobian is ever multiplied out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import numpy as np

from netlib._validation import check_finite
from netlib.layers.base import Layer


class Sequential:
    """Layers applied one after the other.

    Parameters
    ----------
    layers : iterable of Layer
        The layers, first applied first.
    layout : {"rows", "columns"}, optional
        Where the batch lives in ``x``. Inferred from the layers that have a
        layout (``Dense``, ``Softmax``...); they must all agree.

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

    def __init__(self, layers: Iterable[Layer], layout: str | None = None) -> None:
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
                raise TypeError(f"Sequential: expected layers with forward/backward, got "
                                f"{type(layer).__name__} at position {index}")
        layouts = {getattr(layer, "layout", None) for layer in self.layers} - {None}
        if layout is not None:
            layouts.add(layout)
        if len(layouts) > 1:
            found = [f"{i}: {layer!r}" for i, layer in enumerate(self.layers)
                     if getattr(layer, "layout", None) is not None]
            raise ValueError(f"Sequential: expected all layers in one layout, got a mix of "
                             f"{sorted(layouts)} ({'; '.join(found)})")
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
        # Only float input can hold NaN/inf; integer input (Embedding's token
        # indices) goes straight to the first layer, which checks its dtype.
        if check_finite_input and x.dtype.kind == "f":
            check_finite("Sequential", "x", x)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, g: np.ndarray, *, input_gradient: bool = True) -> np.ndarray | None:
        """Backpropagate ``g = dL/dy``; fill every layer's grads; return ``dL/dx``.

        With ``input_gradient=False`` (what :func:`netlib.fit` uses) the first
        layer may skip ``dL/dx``, the gradient of the data, and ``None`` is
        returned: in a 784-256-128-10 MLP that product would add 40% to the
        step's other matrix work (it is 28% of a step that computes it).
        Parameter gradients are the same either way.
        """
        first = self.layers[0] if self.layers else None
        skip = not input_gradient and first is not None and hasattr(first, "input_gradient")
        if skip:
            previous, first.input_gradient = first.input_gradient, False
        try:
            private = False             # the caller's g is never overwritten
            for layer in reversed(self.layers):
                # Only a layer that keeps Layer.backward accepts the keyword.
                if private and type(layer).backward is Layer.backward:
                    g = layer.backward(g, overwrite_g=True)
                else:
                    g = layer.backward(g)
                # Speed: a gradient that owns its memory (not a view) and that
                # only our variable g refers to (CPython's count is 2: g and
                # getrefcount's argument) is a temporary nobody else can see,
                # so the next layer may write its result into it (ReLU does,
                # saving an allocation). A layer that keeps a reference to what
                # it returned, or returns a view of someone's array, fails the
                # test. numpy elides its own temporaries by the same rule.
                private = (type(g) is np.ndarray and g.base is None
                           and sys.getrefcount(g) == 2)
        finally:
            if skip:
                first.input_gradient = previous     # restored, even after an error
        return g if input_gradient else None

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
            chunks = [self.forward(np.take(x, range(start, min(start + batch_size,
                                                                  x.shape[self.batch_axis])),
                                           axis=self.batch_axis))
                      for start in range(0, x.shape[self.batch_axis], batch_size)]
            return np.concatenate(chunks, axis=self.batch_axis)
        finally:
            for layer, mode in zip(self.layers, modes, strict=True):
                if hasattr(layer, "train"):
                    layer.train(mode)

    def parameters(self) -> dict[str, np.ndarray]:
        """All parameters, keyed ``"<layer index>.<name>"`` (the arrays themselves)."""
        return {f"{i}.{key}": value for i, layer in enumerate(self.layers)
                for key, value in layer.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """All parameter gradients, keyed like :meth:`parameters`."""
        return {f"{i}.{key}": value for i, layer in enumerate(self.layers)
                for key, value in layer.grads.items()}
