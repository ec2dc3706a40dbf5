"""``derive --emit numpy``: the confirmed answer as a numpy function, with its check.

The printed module defines ``value_and_gradient`` (a scalar expression) or
``value_and_vjp`` (a matrix-valued one, given the upstream ``G``), written
with the same precedence as the language (``to_text`` with numpy spellings
of the calls), the few helpers it uses (``softmax`` by rows, ...), and the
call of :func:`netlib.gradcheck.check_gradients` that checks it at a random
point of the sizes derive used, so that a reader can paste it and run it.
"""

from __future__ import annotations

from .expr import Node, constant_kind, is_scalar_node, names_in, subtrees, to_text

__all__ = ["numpy_source"]

#: How each function of the language is spelled in numpy; {0}, {1} are arguments.
CALLS = {
    "log": "np.log({0})", "exp": "np.exp({0})", "tanh": "np.tanh({0})", "sqrt": "np.sqrt({0})",
    "sin": "np.sin({0})", "cos": "np.cos({0})", "abs": "np.abs({0})", "sign": "np.sign({0})",
    "relu": "np.maximum({0}, 0.0)", "step": "({0} > 0).astype(float)",
    "sigmoid": "sigmoid({0})", "sum": "np.sum({0})",
    "rowsum": "np.sum({0}, axis=1, keepdims=True)",
    "colsum": "np.sum({0}, axis=0, keepdims=True)", "tr": "np.trace({0})",
    "det": "np.linalg.det({0})", "logdet": "np.linalg.slogdet({0})[1]",
    "inv": "np.linalg.inv({0})", "adj": "(np.linalg.det({0}) * np.linalg.inv({0}))",
    "matrix_power": "np.linalg.matrix_power({0}, {1})", "diag": "diag({0})",
    "norm2": "np.linalg.norm({0})", "norm1": "np.sum(np.abs({0}))",
    "softmax": "softmax({0})", "log_softmax": "log_softmax({0})",
    "logsumexp": "logsumexp({0})", "vec": "{0}.reshape(-1, 1)",
    "unvec_like": "{0}.reshape({1}.shape)", "vec_columns": "{0}.T.reshape(-1, 1)",
    "unvec_columns_like": "{0}.reshape({1}.shape[::-1]).T", "kron": "np.kron({0}, {1})",
    "ones_like": "np.ones_like({0})", "eye_like": "np.eye(len({0}))",
}

_HELPERS = {
    "sigmoid": ("def sigmoid(a):\n"
                "    return np.exp(-np.logaddexp(0.0, -a))  # 1 / (1 + exp(-a)), stably\n"),
    "logsumexp": ("def logsumexp(a):  # of each row, a column\n"
                  "    peak = np.max(a, axis=1, keepdims=True)\n"
                  "    return peak + np.log(np.sum(np.exp(a - peak), axis=1, keepdims=True))\n"),
    "softmax": ("def softmax(a):  # of each row\n"
                "    e = np.exp(a - np.max(a, axis=1, keepdims=True))\n"
                "    return e / np.sum(e, axis=1, keepdims=True)\n"),
    "log_softmax": "def log_softmax(a):  # of each row\n    return a - logsumexp(a)\n",
    "diag": ("def diag(a):  # a column to a diagonal matrix, a square matrix to a column\n"
             "    return np.diagflat(a) if a.shape[1] == 1 else np.diag(a).reshape(-1, 1)\n"),
}


def _code(node: Node) -> str:
    return to_text(node, call=lambda fn, args: CALLS[fn].format(*args))


def numpy_source(answer, sizes: dict, seed: int = 0) -> str:
    """The module text for a confirmed ``answer`` (a :class:`derive.Answer`);
    ``sizes`` maps each input to the ``(rows, cols)`` of the example check."""
    p = answer.problem
    if any(constant_kind(n) for n in names_in(p.expr)):
        raise ValueError("derive: --emit numpy does not yet write the constants ones and eye; "
                         "use ones_like(X) or eye_like(X)")
    gradient = answer.denominator
    used = {n.fn for tree in (p.expr, gradient) for n in subtrees(tree) if hasattr(n, "fn")}
    if "log_softmax" in used:
        used.add("logsumexp")
    inputs = sorted(names_in(p.expr))
    scalar = p.is_scalar
    signature = ", ".join(inputs + ([] if scalar else ["G"]))
    name = "value_and_gradient" if scalar else "value_and_vjp"
    what = "gradient" if scalar else "VJP with upstream G"
    value = _code(p.expr)
    if scalar and not is_scalar_node(p.expr):
        value = f"np.sum({value})"  # a 1×1 product (x.T @ A @ x) to a number
    result = _code(gradient)
    if not names_in(gradient):  # a number (0): spread to the variable's shape
        result = f"np.broadcast_to({result}, {p.wrt}.shape)"
    lines = ["import numpy as np", "", "from netlib.gradcheck import check_gradients", "", ""]
    lines += [_HELPERS[h] + "\n" for h in ("sigmoid", "logsumexp", "softmax", "log_softmax",
                                            "diag") if h in used]
    lines += [
        f"def {name}({signature}):",
        f'    """{to_text(p.expr)} and its {what}, d/d{p.wrt} ({p.wrt}\'s shape)."""',
        f"    value = {value}",
        f"    {'gradient' if scalar else 'vjp'} = {result}",
        f"    return value, {'gradient' if scalar else 'vjp'}",
        "",
        "",
        "# The check derive ran, at a random point (netlib's central differences):",
        f"rng = np.random.default_rng({seed})",
        "inputs = {" + ", ".join(f'"{n}": {_draw(*sizes[n])}' for n in inputs) + "}",
        "report = check_gradients(",
        f"    lambda **v: {name}(**v{'' if scalar else ', G=0.0'})[0],",
        (f"    lambda g, **v: (g * {name}(**v)[1],)," if scalar
         else f"    lambda g, **v: ({name}(**v, G=g)[1],),"),
        f'    inputs, wrt=["{p.wrt}"], mode="full")',
        "print(report)",
    ]
    return "\n".join(lines) + "\n"


def _draw(rows: int, cols: int) -> str:
    """Entries in [0.5, 1.5] (inside the domain of log and sqrt); a square
    matrix shifted by n·I, away from singular, as derive's own points are."""
    shift = f" + {rows} * np.eye({rows})" if rows == cols > 1 else ""
    return f"rng.uniform(0.5, 1.5, ({rows}, {cols})){shift}"
