r"""The user-facing checks: plain functions, a netlib layer or loss, a whole model.

Each builds a :class:`~netlib.gradcheck.engine.Problem` (the point, the
forward map, the analytic VJPs) and hands it to the engine. Whole models and
chains of steps are in :mod:`netlib.gradcheck.localise`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import numpy as np

from netlib.gradcheck.engine import Problem, as_float64, run
from netlib.gradcheck.report import GradcheckReport

__all__ = ["check_gradients", "check_layer", "sample_away_from_kinks"]


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
                    upstream=None, bounds: Mapping[str, tuple] | None = None
                    ) -> GradcheckReport:
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
    bounds : dict of str to (low, high), optional
        The open interval an argument must stay in (probabilities: ``(0, 1)``).
        Steps shrink to keep :math:`p \pm h` inside; without bounds they also
        shrink where ``forward`` raises or returns NaN or infinity.

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
    bounds = dict(bounds or {})
    for name, bound in bounds.items():
        if name not in names or len(tuple(bound)) != 2 or not bound[0] < bound[1]:
            raise ValueError(f"check_gradients: expected bounds as name -> (low, high) with "
                             f"low < high for arguments among {names}, got {name!r}: {bound!r}")
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
    problem = Problem(who, values, names, lambda: forward(**values), analytic, sizes,
                      bounds=bounds, wrt_given=wrt is not None)
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
        Integer inputs (an embedding's indices) are passed as given and not
        differentiated.
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
    indices = np.asarray(x).dtype.kind in "iub"       # integers: looked up, not differentiated
    values = {"x": np.array(x, copy=True) if indices else as_float64(who, "x", x)}
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
        result = {} if indices else {"x": np.array(dx, copy=True)}
        grads = getattr(work, "grads", {}) or {}
        result.update({key: np.array(grads[key], copy=True) for key in params if key in grads})
        return result

    sizes = {int(s) for s in values["x"].shape}
    wrt = [name for name in values if not (indices and name == "x")]
    problem = Problem(who, values, wrt, evaluate, analytic, sizes)
    return run(problem, rng, mode, directions, upstream)


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
