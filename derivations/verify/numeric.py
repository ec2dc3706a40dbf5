r"""The numeric side: netlib's backward against the lambdified :math:`J^\top g`.

At a random float64 point of the entry's sampling domain, with a random
upstream gradient ``g`` (an all-ones ``g`` hides wrong-axis sums), netlib's
``backward`` must equal ``reshape(Jᵀ g)`` with ``J`` the SymPy Jacobian
turned into numpy code, to :data:`~derivations.verify.rows.NUMERIC_RTOL`
relative (:func:`netlib.gradcheck.relative_error`, one scale per array).
The generated numpy code is cached on disk with the Jacobian it comes from.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import math
import time

import numpy as np
import sympy

from derivations.core import Derivation, Shapes
from derivations.verify import cache
from derivations.verify.rows import NUMERIC_RTOL, CheckRow
from derivations.verify.symbolic import default_shapes, jacobian, shape_sets
from netlib.gradcheck import relative_error


def arguments(d: Derivation) -> tuple[str, ...]:
    """Names whose values a lambdified function takes (inputs, symbolic constants)."""
    return (*d.inputs, *d.symbolic_constants())


def _numpy_namespace() -> dict:
    # What lambdify(..., modules="numpy") puts around the code it generates;
    # functions numpy lacks (erf) it takes from ``math``, as here.
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update(sympy.lambdify([], 0, modules="numpy").__globals__)
    return namespace


def _global_names(function) -> set[str]:
    """The global names ``function``'s code loads (not attribute names such as ``.reduce``)."""
    return {i.argval for i in dis.get_instructions(function)
            if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}


_COMPILED: dict[str, object] = {}


def _compile(source: str):
    """The function ``_lambdifygenerated`` of lambdify-generated ``source``, or ``None``."""
    if source not in _COMPILED:
        namespace = _numpy_namespace()
        exec(compile(source, "<lambdified, cached>", "exec"), namespace)
        function = namespace["_lambdifygenerated"]
        missing = [n for n in _global_names(function)
                   if n not in namespace and not hasattr(builtins, n)]
        _COMPILED[source] = None if missing else function
    return _COMPILED[source]


def numpy_function(kind: str, d: Derivation, shapes: Shapes, wrt: str, matrix):
    """``matrix()`` (a SymPy matrix over ``d``'s symbols) as numpy code, cached.

    Returns ``f(values: dict) -> ndarray`` of the matrix's shape. The code
    lambdify generates is stored with the SymPy results (``kind`` names it).
    """
    key = (kind, id(d), tuple(sorted((k, tuple(v)) for k, v in shapes.items())), wrt)
    if key not in _FUNCTIONS:
        # ``d`` kept in the value so that its id is not reused while the key lives.
        _FUNCTIONS[key] = (d, _numpy_function(kind, d, shapes, wrt, matrix))
    return _FUNCTIONS[key][1]


_FUNCTIONS: dict = {}


def _lambdify_entries(d: Derivation, shapes: Shapes, names, M: sympy.Matrix):
    """``(f, nonzero)``: ``f(*arguments)`` gives the entries of ``M`` at flat ``nonzero``.

    Only the nonzero entries are printed as code: a convolution's Jacobian is
    mostly zeros, and printing them cost nine tenths of its lambdify.
    """
    flat = list(M)                                            # row-major, like np.ravel
    nonzero = [k for k, entry in enumerate(flat) if entry != 0]
    symbols = d.symbols(shapes)
    function = sympy.lambdify([list(symbols[n]) for n in names], [flat[k] for k in nonzero],
                              modules="numpy", cse=True, docstring_limit=0)
    return function, nonzero


def _numpy_function(kind: str, d: Derivation, shapes: Shapes, wrt: str, matrix):
    names = arguments(d)

    def generate() -> dict:
        M = matrix()
        function, nonzero = _lambdify_entries(d, shapes, names, M)
        return {"source": inspect.getsource(function), "shape": M.shape, "nonzero": nonzero}

    generated = cache.memo(kind, d, shapes, wrt, generate, stated=False)
    # None when the code needs names that only its own lambdify call provided.
    compiled = _compile(generated["source"]) or _lambdify_entries(d, shapes, names, matrix())[0]
    size, nonzero = tuple(generated["shape"]), np.asarray(generated["nonzero"], dtype=np.intp)

    def evaluate(values, dtype=np.float64):
        args = [np.asarray(values[name], dtype=dtype).ravel() for name in names]
        out = np.zeros(size, dtype=dtype)
        out.flat[nonzero] = np.asarray(compiled(*args), dtype=dtype)
        return out

    return evaluate


def jacobian_function(d: Derivation, wrt: str, shapes: Shapes | None = None):
    """The lambdified Jacobian: ``f(values: dict) -> ndarray (out_size, arg_size)``; cached."""
    shapes = default_shapes(d, shapes)
    return numpy_function("lambdified", d, shapes, wrt, lambda: jacobian(d, wrt, shapes))


def sample_values(d: Derivation, shapes: Shapes, rng: np.random.Generator) -> dict:
    """Random float64 values of every argument (fixed constants at their fixed values)."""
    values = {name: np.asarray(value, dtype=np.float64)
              for name, value in d.sample(rng, shapes).items()}
    values.update(d.fixed_values(shapes))
    return values


def jacobian_numpy(d: Derivation, wrt: str, shapes: Shapes | None = None, values=None,
                   seed: int = 0) -> np.ndarray:
    """The Jacobian as a float64 array at ``values`` (sampled if omitted), for heat maps."""
    shapes = default_shapes(d, shapes)
    if values is None:
        values = sample_values(d, shapes, np.random.default_rng(seed))
    return jacobian_function(d, wrt, shapes)(values)


_OUTPUT_SHAPES: dict = {}


def output_shape(d: Derivation, shapes: Shapes) -> tuple[int, int]:
    """The forward map's output shape (``(1, 1)`` for a loss); kept per entry and shapes."""
    key = (d.name, id(d.forward), tuple(sorted((k, tuple(v)) for k, v in shapes.items())))
    if key not in _OUTPUT_SHAPES:
        _OUTPUT_SHAPES[key] = (d.forward, d.output_shape(shapes))
    return _OUTPUT_SHAPES[key][1]


def draw_point(d: Derivation, shapes: Shapes, rng: np.random.Generator) -> tuple[dict, object]:
    """Random argument values and a random upstream gradient (a scalar for a loss)."""
    values = sample_values(d, shapes, rng)
    g = rng.standard_normal(()) if d.kind == "loss" else rng.standard_normal(
        output_shape(d, shapes))
    return values, g


def expected_vjp(d: Derivation, wrt: str, shapes: Shapes, values: dict, g) -> np.ndarray:
    """``reshape(J(values)ᵀ vec g)`` in the argument's shape: the derived VJP, float64."""
    return reference_vjp(d, wrt, shapes, values, g)[0]


def reference_vjp(d: Derivation, wrt: str, shapes: Shapes, values: dict,
                  g) -> tuple[np.ndarray, float]:
    r"""The derived VJP and the tolerance it is compared to, at this point.

    :math:`J^\top g` is evaluated twice from the same generated code: in
    extended precision (``np.longdouble``, 64-bit mantissa on x86-64), which
    is the reference returned, and in float64. Their relative difference is
    what float64 rounding alone costs *this formula at this point*: usually
    :math:`10^{-16}`, but near a point where terms cancel (two attention
    positions with almost equal scores) it reaches :math:`10^{-11}`, and a
    correct float64 backward, computed another way, loses as much. The
    tolerance is :data:`NUMERIC_RTOL`, or :data:`ROUNDING_FACTOR` times that
    measured loss where it is larger; a wrong formula errs by
    :math:`10^{-2}` or more either way.
    """
    return vjp_with_tolerance(jacobian_function(d, wrt, shapes), values, g, shapes[wrt])


def vjp_with_tolerance(J, values: dict, g, shape) -> tuple[np.ndarray, float]:
    """:func:`reference_vjp` for a Jacobian function ``J(values, dtype) -> array``."""
    upstream = np.ravel(g)
    extended = J(values, np.longdouble).T @ upstream.astype(np.longdouble)
    single = J(values, np.float64).T @ upstream
    reference = extended.astype(np.float64)
    loss = relative_error(single, reference)
    tolerance = max(NUMERIC_RTOL, ROUNDING_FACTOR * loss) if np.isfinite(loss) else NUMERIC_RTOL
    return reference.reshape(shape), tolerance


#: How many times the float64 rounding loss of the derived formula (measured
#: at the point by :func:`reference_vjp`) a correct backward may lose.
ROUNDING_FACTOR = 10.0


def netlib_forward(d: Derivation, obj, values: dict):
    """netlib's forward output of ``obj`` (built by ``d``) for ``d``'s call convention."""
    if d.kind == "loss":
        target = d.netlib_target(values) if d.netlib_target else values["t"]
        return np.float64(obj.forward(values[d.forward_arg], target))
    return obj.forward(values[d.forward_arg])


def netlib_vjp(d: Derivation, values: dict, g) -> dict[str, np.ndarray]:
    """Run netlib's forward then backward(g); the gradient of every input, by name.

    Layers: ``forward(values[d.forward_arg])``, ``backward(g)``, returning
    ``{"x": dx, **grads}``. Losses: ``forward(values["x"], target)``,
    ``backward(g)`` with the scalar ``g``. An entry's ``run`` overrides both.
    """
    obj = d.build(values)
    if d.run is not None:
        return d.run(obj, values, g)
    netlib_forward(d, obj, values)
    if d.kind == "loss":
        return {d.forward_arg: obj.backward(float(np.asarray(g).reshape(())))}
    dx = obj.backward(g)
    return {d.forward_arg: dx, **{name: np.array(v) for name, v in obj.grads.items()}}


def compare_arrays(d: Derivation, wrt: str, shapes: Shapes, computed: dict,
                   expected: np.ndarray, what: str,
                   tolerance: float = NUMERIC_RTOL) -> tuple[float, str]:
    """``(relative error, message)`` of ``computed[wrt]`` against ``expected``.

    The message is ``""`` when the error is within ``tolerance`` (relative).
    """
    if wrt not in computed:
        return float("inf"), (f"{d.name}: netlib returned no gradient for {wrt} "
                              f"(got gradients for {', '.join(computed) or 'nothing'})")
    actual = np.asarray(computed[wrt], dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf"), (f"{d.name}: netlib's {what} for {wrt} has shape {actual.shape}, "
                              f"expected {expected.shape}")
    error = relative_error(actual, expected)
    if error <= tolerance:
        return error, ""
    return error, (f"{d.name}: netlib {what} for {wrt} vs the SymPy one at shapes "
                   f"{d.shape_text(shapes)}: max relative error {error:.3e} > {tolerance:.3g}\n"
                   f"  netlib   = {np.array2string(actual.ravel(), precision=6)}\n"
                   f"  symbolic = {np.array2string(expected.ravel(), precision=6)}")


def check_numeric(d: Derivation, shapes: Shapes | None = None,
                  rng: np.random.Generator | None = None) -> list[CheckRow]:
    """netlib's backward against the lambdified ``Jᵀ g`` at a random point, per input."""
    rng = np.random.default_rng(0) if rng is None else rng
    rows = []
    for sh in shape_sets(d, shapes):
        started = time.perf_counter()
        values, g = draw_point(d, sh, rng)
        computed = netlib_vjp(d, values, g)
        shared = (time.perf_counter() - started) / len(d.inputs)
        for wrt in d.inputs:
            started = time.perf_counter()
            expected, tolerance = reference_vjp(d, wrt, sh, values, g)
            error, message = compare_arrays(d, wrt, sh, computed, expected, "backward",
                                            tolerance)
            rows.append(CheckRow(d.name, wrt, d.shape_text(sh), "numeric", not message, error,
                                 shared + time.perf_counter() - started, message,
                                 tolerance=tolerance, margin=error / tolerance))
    return rows
