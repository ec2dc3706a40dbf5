r"""Optimizers: update parameters in place from their gradients.

An optimizer's :meth:`step` takes two dicts keyed alike, ``params`` and
``grads`` (``model.parameters()`` and ``model.gradients()``), and changes the
parameter arrays in place. Its state (velocities, moments) is keyed by the same
names. Layers never update themselves: computing a gradient and using it are
separate steps, so a gradient can be checked before anything moves.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import real_number
from netlib.model import Gradients, Parameters


class Optimizer:
    """Base class: learning-rate validation, the checks of a step, per-parameter state."""

    def __init__(self, lr: float) -> None:
        lr = real_number(type(self).__name__, "lr", lr)
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: expected a positive finite learning "
                             f"rate lr, got {lr!r}")
        self.lr = lr
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g})"

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads``.

        Checked first, for every parameter, before anything moves: the two
        dicts have the same keys and each gradient has exactly its
        parameter's shape. Numpy would otherwise broadcast a ``(1, 3)``
        gradient into a ``(4, 3)`` weight without a word. The checks compare
        shapes only (no pass over the data).
        """
        who = type(self).__name__
        if isinstance(params, Gradients) or isinstance(grads, Parameters):
            raise TypeError(f"{who}.step: expected step(params, grads), got the gradients "
                            f"first (arguments swapped); write "
                            f"step(model.parameters(), model.gradients())")
        if not (isinstance(params, dict) and isinstance(grads, dict)):
            raise TypeError(f"{who}.step: expected two dicts, params and grads "
                            f"(model.parameters(), model.gradients()), got "
                            f"{type(params).__name__} and {type(grads).__name__}")
        if params.keys() != grads.keys():
            raise ValueError(f"{who}: expected grads keyed like params, got "
                             f"params {sorted(params)} and grads {sorted(grads)}")
        for key, param in params.items():
            grad = grads[key]
            if getattr(grad, "shape", None) != param.shape:
                raise ValueError(f"{who}.step: expected the gradient of parameter {key!r} "
                                 f"with its shape {param.shape}, got shape "
                                 f"{np.shape(grad)} (a gradient has the shape of what it "
                                 f"is taken with respect to; numpy would broadcast it)")
        for key, param in params.items():
            self._update(key, param, grads[key])

    def _buffer(self, key: str, name: str, like: np.ndarray) -> np.ndarray:
        """A zero-initialised state array for parameter ``key``, made once."""
        slot = self.state.setdefault(key, {})
        if name not in slot:
            slot[name] = np.zeros_like(like)
        return slot[name]

    def _update(self, key, param, grad):
        raise NotImplementedError


class SGD(Optimizer):
    r"""Plain gradient descent: :math:`\theta \leftarrow \theta - \eta\, \nabla_\theta L`."""

    def _update(self, key, param, grad):
        # In place on the parameter. The product lr * grad goes to a temporary
        # that numpy's allocator recycles from step to step; a preallocated
        # scratch array measured slower in benchmarks/train_speed.py (one more
        # weight-sized array competing for the cache). The scalar is cast to
        # the parameters' dtype so float32 stays float32.
        param -= param.dtype.type(self.lr) * grad


class Momentum(Optimizer):
    r"""Gradient descent with (optionally Nesterov) momentum.

    .. math:: v \leftarrow \mu v - \eta \nabla L, \qquad \theta \leftarrow \theta + v

    With ``nesterov=True`` the step looks ahead along the new velocity:
    :math:`\theta \leftarrow \theta + \mu v - \eta \nabla L`.
    """

    def __init__(self, lr: float, momentum: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(lr)
        momentum = real_number("Momentum", "momentum", momentum)
        if not 0 <= momentum < 1:
            raise ValueError(f"Momentum: expected momentum in [0, 1), got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, key, param, grad):
        v = self._buffer(key, "velocity", param)
        mu, lr = param.dtype.type(self.momentum), param.dtype.type(self.lr)
        v *= mu
        v -= lr * grad
        if self.nesterov:
            param += mu * v - lr * grad
        else:
            param += v


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) with bias-corrected moments.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,

        \theta \leftarrow \theta - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)
        for label, beta in (("beta1", beta1), ("beta2", beta2), ("eps", eps)):
            real_number("Adam", label, beta)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"Adam: expected {label} in [0, 1), got {beta!r}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        super().step(params, grads)

    def _update(self, key, param, grad):
        m = self._buffer(key, "m", param)
        v = self._buffer(key, "v", param)
        scratch = self._buffer(key, "scratch", param)
        b1, b2 = self.beta1, self.beta2
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - b2
        v += scratch
        # Fold both bias corrections into the step size and epsilon.
        step = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        eps_hat = self.eps * np.sqrt(1 - b2 ** self.t)
        np.sqrt(v, out=scratch)
        scratch += eps_hat
        np.divide(m, scratch, out=scratch)
        scratch *= step
        param -= scratch
