r"""The user-facing checks: plain functions, a netlib layer or loss, a whole model.

Each builds a :class:`~netlib.gradcheck.engine.Problem` (the point, the
forward map, the analytic VJPs) and hands it to the engine. A model and its
loss are checked as one layer (``_ModelWithLoss``), so
:func:`check_model` is :func:`check_layer` applied to the pair.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import numpy as np

from netlib.gradcheck.engine import Problem, as_float64, run
from netlib.gradcheck.report import GradcheckReport

__all__ = ["check_gradients", "check_layer", "check_model", "sample_away_from_kinks"]


def sample_away_from_kinks(rng, shape, margin: float = 0.1, scale: float = 1.0) -> np.ndarray:
    r"""Normal samples with :math:`|x| \ge` ``margin``: no entry near a kink at 0.

    ``margin`` (default 0.1) is four orders of magnitude above the step
    :math:`h \approx 6\times10^{-6}`, so no difference quotient straddles 0.
    """
    rng = np.random.default_rng(rng)
    x = scale * rng.standard_normal(shape)
    small = np.abs(x) < margin
    # Push small entries out to the margin, keeping their sign (0 goes up).
    x[small] = np.where(x[small] < 0, -1.0, 1.0) * (margin + rng.random(int(small.sum())))
    return x


def check_gradients(forward: Callable, backward: Callable, inputs: Mapping[str, np.ndarray],
                    *, wrt=None, rng=0, mode: str = "auto", directions: int = 2,
                    upstream=None) -> GradcheckReport:
    r"""Check a hand-written ``backward`` against finite differences of ``forward``.

    Parameters
    ----------
    forward : callable
        ``forward(**inputs) -> y``, an array (or a scalar, for a loss).
    backward : callable
        ``backward(g, **inputs)`` returning the VJPs :math:`J^\top g`: a dict
        ``name -> gradient`` or a tuple in the order of ``wrt``.
    inputs : dict of str to array
        The point, by argument name (copied to float64).
    wrt : sequence of str, optional
        The arguments to differentiate (default: all of ``inputs``); the others
        are constants (targets, labels).
    rng : int or numpy.random.Generator
        Seed of the random upstream gradient and directions.
    mode : {"auto", "full", "directional"}
        See the package docstring.
    directions : int
        Random directions per argument in ``directional`` mode.
    upstream : array, optional
        A fixed upstream gradient instead of a random one (for demonstrating
        what an all-ones ``g`` hides; never use it to verify).

    Returns
    -------
    GradcheckReport
    """
    who = getattr(forward, "__name__", "forward")
    who = f"{who}/{getattr(backward, '__name__', 'backward')}"
    names = list(inputs) if wrt is None else list(wrt)
    for name in names:
        if name not in inputs:
            raise KeyError(f"check_gradients: wrt names {name!r}, which is not among the "
                           f"inputs {list(inputs)}")
    # Differentiated arguments become private float64 copies; constants (targets,
    # integer labels) are passed as given.
    values = {name: as_float64(who, name, value) if name in names else value
              for name, value in inputs.items()}

    def analytic(u):
        result = backward(u if u.ndim else float(u), **values)
        if isinstance(result, Mapping):
            return dict(result)
        if isinstance(result, (tuple, list)):
            if len(result) != len(names):
                raise ValueError(f"check_gradients: backward returned {len(result)} "
                                 f"gradients, expected {len(names)} (for {names})")
            return dict(zip(names, result, strict=True))
        if len(names) == 1:
            return {names[0]: result}
        raise TypeError(f"check_gradients: expected backward to return a dict name -> "
                        f"gradient or a tuple, got {type(result).__name__}")

    sizes = {int(s) for v in values.values() for s in np.shape(v)}
    problem = Problem(who, values, names, lambda: forward(**values), analytic, sizes)
    return run(problem, np.random.default_rng(rng), mode, directions, upstream)


def check_layer(layer, x, *, target=None, rng=0, mode: str = "auto", directions: int = 2,
                upstream=None) -> GradcheckReport:
    """Check a netlib layer (or loss) on every input and parameter.

    The layer is copied and converted to float64; yours is left untouched.

    Parameters
    ----------
    layer : netlib Layer or Loss
        Anything with ``forward``/``backward`` and ``params``/``grads`` dicts
        (a composite may list its parts in ``layers``, as a model does).
    x : array or tuple
        The input; a shape tuple draws it with :func:`sample_away_from_kinks`.
    target : array, optional
        Required for a loss: checks ``x -> loss.forward(x, target)``.
    rng, mode, directions, upstream
        As in :func:`check_gradients`.

    Examples
    --------
    >>> import numpy as np
    >>> from netlib import Dense
    >>> layer = Dense(3, 2, rng=np.random.default_rng(1))
    >>> report = check_layer(layer, (4, 3))
    >>> report.passed, [c.name for c in report.checks]
    (True, ['x', 'W', 'b'])
    """
    rng = np.random.default_rng(rng)
    if isinstance(x, tuple):
        x = sample_away_from_kinks(rng, x)
    who = layer.describe() if hasattr(layer, "describe") else type(layer).__name__
    work = _to_float64(layer)
    values = {"x": as_float64(who, "x", x)}
    params = getattr(work, "params", {}) or {}
    values.update(params)                 # the layer's own arrays: perturbed in place
    is_loss = target is not None          # a loss maps (x, target) to a scalar
    if is_loss:
        target_value = np.asarray(target)
        if target_value.dtype.kind == "f":
            target_value = target_value.astype(np.float64)

        def evaluate():
            return np.float64(work.forward(values["x"], target_value))
    else:
        def evaluate():
            return work.forward(values["x"])

    def analytic(u):
        evaluate()
        _poison_grads(_parts(work))
        dx = work.backward(float(u)) if is_loss else work.backward(u)
        result = {"x": np.array(dx, copy=True)}
        grads = getattr(work, "grads", {}) or {}
        result.update({key: np.array(grads[key], copy=True) for key in params if key in grads})
        return result

    sizes = {int(s) for s in values["x"].shape}
    problem = Problem(who, values, list(values), evaluate, analytic, sizes)
    return run(problem, rng, mode, directions, upstream)


def check_model(model, loss, x, target, *, rng=0, mode: str = "auto",
                directions: int = 2) -> GradcheckReport:
    r"""Check a whole ``Sequential`` model and its loss, end to end.

    The function checked is :math:`(x, \theta) \mapsto L(\mathrm{model}(x; \theta), t)`
    for the input and every parameter, named like ``model.parameters()``
    (``"0.W"``, ``"2.b"``...). Model and loss are copied to float64. It is
    :func:`check_layer` of the pair seen as one loss layer.

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
    return check_layer(_ModelWithLoss(model, loss), x, target=target, rng=rng, mode=mode,
                       directions=directions)


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


def _parts(obj) -> list:
    """The objects that hold parameters: a composite's ``layers``, else ``obj`` itself."""
    return getattr(obj, "layers", [obj])


def _to_float64(obj):
    """A float64 deep copy of a layer, loss or model (the checks run in float64)."""
    obj = copy.deepcopy(obj)
    for layer in _parts(obj):
        params = getattr(layer, "params", None) or {}
        if any(np.asarray(value).dtype != np.float64 for value in params.values()):
            # Only a float32 layer gets new arrays; a float64 one keeps its own,
            # so that composite layers whose params alias their parts still work.
            for key in list(params):
                params[key] = np.array(params[key], dtype=np.float64)
            # In place too: a composite's grads dict may be its part's own.
            fresh = {key: np.zeros_like(value) for key, value in params.items()}
            layer.grads.clear()
            layer.grads.update(fresh)
    return obj


def _poison_grads(layers) -> None:
    """Fill every stored gradient with NaN, in place (aliases stay aliases).

    A gradient that ``backward`` forgets to write then shows up as NaN
    instead of passing as a stale value from an earlier call.
    """
    for layer in layers:
        for value in (getattr(layer, "grads", None) or {}).values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                value[...] = np.nan
