r"""Localisation: which layer of a model, or which step of your own chain, is wrong.

A network's gradient is the chain :math:`J_1^\top(J_2^\top \cdots (J_L^\top g))`:
one wrong factor spoils every gradient computed after it (in backward order),
so an end-to-end check sees many wrong arguments and cannot say which factor
is to blame. Checking each factor alone can: layer :math:`i` is checked as a
function of its own input and parameters, at the input :math:`x_i` that the
forward pass gives it,

.. math:: x_0 = x, \qquad x_{i+1} = f_i(x_i; \theta_i), \qquad
          \text{check } J_{f_i}(x_i; \theta_i)^\top u_i \ \text{for a random } u_i,

in forward order. The first layer whose local VJP fails is named, by
position and class, with the arguments that fail and their hints. Each local
check is the engine's ordinary check (:func:`~netlib.gradcheck.check_layer`
or :func:`~netlib.gradcheck.check_gradients`), so the tolerances are the same.

:func:`check_model` runs the end-to-end check and, when it fails (or with
``localise=True``), the layer-by-layer one; :func:`check_steps` does the
layer-by-layer check for code of your own written as (forward, backward) steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from netlib.gradcheck.entry_points import _to_float64, check_gradients, check_layer
from netlib.gradcheck.report import GradcheckReport, StepCheck

__all__ = ["check_model", "check_steps"]

LOCALISE = ("auto", True, False)


def check_model(model, loss, x, target, *, rng=0, mode: str = "auto", directions: int = 2,
                localise="auto") -> GradcheckReport:
    r"""Check a whole ``Sequential`` model and its loss, end to end, then layer by layer.

    The end-to-end function is
    :math:`(x, \theta) \mapsto L(\mathrm{model}(x; \theta), t)`, checked for the
    input and every parameter, named like ``model.parameters()`` (``"0.W"``,
    ``"2.b"``...). Model and loss are copied to float64.

    Parameters
    ----------
    localise : {"auto", True, False}
        Check every layer and the loss alone at the activations of the
        forward pass (``report.steps``, ``report.first_wrong``): ``"auto"``
        does it when the end-to-end check fails.

    Examples
    --------
    >>> import numpy as np
    >>> from netlib import Dense, MeanSquaredError, Sequential, Sigmoid
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential([Dense(3, 4, rng=rng), Sigmoid(), Dense(4, 2, rng=rng)])
    >>> report = check_model(model, MeanSquaredError(), rng.standard_normal((5, 3)),
    ...                      rng.standard_normal((5, 2)))
    >>> report.passed, [c.name for c in report.checks]
    (True, ['x', '0.W', '0.b', '2.W', '2.b'])
    """
    if localise not in LOCALISE:
        raise ValueError(f"check_model: expected localise in {LOCALISE}, got {localise!r}")
    pair = _ModelWithLoss(model, loss)
    report = check_layer(pair, x, target=target, rng=rng, mode=mode, directions=directions)
    if localise is True or (localise == "auto" and not report.passed):
        report.steps = _layer_by_layer(pair, x, target, rng, mode, directions)
    return report


def _layer_by_layer(pair, x, target, rng, mode, directions) -> list[StepCheck]:
    """Each layer, then the loss, checked alone at the activations of one forward pass."""
    work = _to_float64(pair)
    rng = np.random.default_rng(rng)
    x = np.asarray(x)
    point = x if x.dtype.kind in "iub" else np.asarray(x, dtype=np.float64)
    steps = []
    for position, layer in enumerate(work.model.layers):
        report = check_layer(layer, point, rng=rng, mode=mode, directions=directions)
        steps.append(StepCheck(position, type(layer).__name__, report))
        point = np.array(layer.forward(point), dtype=np.float64)
    report = check_layer(work.loss, point, target=target, rng=rng, mode=mode,
                         directions=directions)
    steps.append(StepCheck(len(steps), f"{type(work.loss).__name__} (loss)", report))
    return steps


def check_steps(steps: Sequence, x, *, rng=0, mode: str = "auto", directions: int = 2,
                bounds: Mapping[str, tuple] | None = None) -> GradcheckReport:
    r"""Check your own chain of (forward, backward) steps, each at the point it gets.

    Parameters
    ----------
    steps : sequence of tuples
        ``(forward, backward)`` or ``(forward, backward, params)``:
        ``forward(x, **params) -> y`` and ``backward(g, x, **params)``
        returning :math:`J^\top g` for ``x`` (an array), or a dict with ``"x"``
        and each parameter's name. ``params`` (a dict of arrays) are checked
        too. A step without a gradient for ``x`` (a lookup by integer indices)
        has its ``x`` left undifferentiated.
    x : array
        The input of the first step.
    rng, mode, directions, bounds
        As in :func:`~netlib.gradcheck.check_gradients` (``bounds`` by name,
        applied to the steps that have that argument).

    Returns
    -------
    GradcheckReport
        ``report.steps`` in forward order, ``report.first_wrong``.

    Examples
    --------
    Column-layout dense then sigmoid, the sigmoid's derivative taken at its
    output (:math:`\sigma'(a)` instead of :math:`\sigma'(z) = a(1 - a)`):

    >>> import numpy as np
    >>> sigma = lambda z: 1 / (1 + np.exp(-z))
    >>> rng = np.random.default_rng(0)
    >>> W, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    >>> dense = (lambda x, W, b: W @ x + b[:, None],
    ...          lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)},
    ...          {"W": W, "b": b})
    >>> wrong_sigmoid = (sigma, lambda g, z: g * sigma(sigma(z)) * (1 - sigma(sigma(z))))
    >>> report = check_steps([dense, wrong_sigmoid], rng.standard_normal((3, 5)))
    >>> report.first_wrong.position, report.first_wrong.report.failures()[0].name
    (1, 'x')
    >>> "wrong point" in report.first_wrong.report["x"].hint
    True
    """
    rng = np.random.default_rng(rng)
    point = np.asarray(x)
    checked = []
    for position, step in enumerate(steps):
        forward, backward, params = _unpack(position, step)
        label = getattr(forward, "__name__", "step")
        label = "step" if label == "<lambda>" else label
        indices = point.dtype.kind in "iub"
        inputs = {"x": point, **params}
        wrt = [name for name in inputs if not (indices and name == "x")]

        # x is passed by position: your functions may call it anything.
        def forward_of(x, forward=forward, **values):
            return forward(x, **values)

        def backward_of(g, x, backward=backward, **values):
            result = backward(g, x, **values)
            return result if isinstance(result, Mapping) else {"x": result}

        step_bounds = {k: v for k, v in (bounds or {}).items() if k in wrt}
        report = check_gradients(forward_of, backward_of, inputs, wrt=wrt, rng=rng,
                                 mode=mode, directions=directions, bounds=step_bounds)
        report.what = f"step #{position} ({label})"
        checked.append(StepCheck(position, label, report))
        point = np.asarray(forward(point, **params))
        if point.dtype.kind != "f":
            point = point.astype(np.float64)
    return GradcheckReport(f"a chain of {len(checked)} steps", [], steps=checked)


def _unpack(position: int, step) -> tuple[Callable, Callable, dict]:
    if not isinstance(step, (tuple, list)) or len(step) not in (2, 3):
        raise TypeError(f"check_steps: expected step #{position} as (forward, backward) or "
                        f"(forward, backward, params), got {type(step).__name__}"
                        f"{'' if not isinstance(step, (tuple, list)) else f' of {len(step)}'}")
    forward, backward, *rest = step
    params = dict(rest[0]) if rest else {}
    if not callable(forward) or not callable(backward):
        raise TypeError(f"check_steps: expected step #{position}'s forward and backward to "
                        f"be callables")
    if "x" in params:
        raise ValueError(f"check_steps: step #{position}'s params may not be named 'x' (the "
                         f"step's input)")
    return forward, backward, params


class _ModelWithLoss:
    r"""A model and its loss as one loss layer, :math:`(x, t) \mapsto L(\mathrm{model}(x), t)`.

    ``params`` and ``grads`` are the model's, keyed ``"<layer index>.<name>"``;
    ``layers`` lists every part that may hold parameters (for the float64 copy
    and the NaN-filled gradients).
    """

    def __init__(self, model, loss) -> None:
        self.model, self.loss = model, loss

    def describe(self) -> str:
        return f"{self.model!r} with {self.loss!r}"

    @property
    def layers(self) -> list:
        return [*self.model.layers, self.loss]

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.model.parameters()

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.model.gradients()

    def forward(self, x: np.ndarray, target) -> float:
        return self.loss.forward(self.model.forward(x), target)

    def backward(self, g: float) -> np.ndarray:
        return self.model.backward(self.loss.backward(g))
