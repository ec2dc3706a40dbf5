r"""Seed B's network with its backward pass written out, in both layouts.

Seed B's author asked how to make a hand-written backward pass readable and
verifiable. These two functions are our answer for its 3 → 4 → 4 → 2 network
(sigmoid, sigmoid, linear; loss the batch mean of ½‖p − t‖²): one line per
gradient, and each gradient line carries a ``# rule:`` tag naming the
registry entry and argument whose stated VJP it applies. The site's seed-B
page prints the lines beside those rules, and checks both functions.

Column layout (the seed's): ``x`` is ``(features, batch)``, ``W`` is
``(out, in)``. Row layout: every one of these arrays transposed. Line ``k``
of :func:`backward_rows` is the transpose of line ``k`` of
:func:`backward_columns`, using :math:`(AB)^\top = B^\top A^\top`.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = {"W1": rng.standard_normal((4, 3)), "b1": np.zeros(4),
...      "W2": rng.standard_normal((4, 4)), "b2": np.zeros(4),
...      "W3": rng.standard_normal((2, 4)), "b3": np.zeros(2)}
>>> x, t = rng.random((3, 5)), rng.standard_normal((2, 5))
>>> cols = backward_columns(p, x, t)
>>> rows = backward_rows({k: v.T for k, v in p.items()}, x.T, t.T)
>>> all(np.allclose(rows[k].T, cols[k]) for k in cols)
True
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function (plain form; seed B's inputs keep it far from overflow)."""
    return 1.0 / (1.0 + np.exp(-z))


def forward_columns(params: dict, x: np.ndarray) -> dict:
    """Every intermediate of the forward pass, column layout."""
    h1 = sigmoid(params["W1"] @ x + params["b1"][:, None])
    h2 = sigmoid(params["W2"] @ h1 + params["b2"][:, None])
    p = params["W3"] @ h2 + params["b3"][:, None]
    return {"x": x, "h1": h1, "h2": h2, "p": p}


def backward_columns(params: dict, x: np.ndarray, target: np.ndarray) -> dict:
    """Loss and every gradient of seed B's network, column layout (the seed's)."""
    f = forward_columns(params, x)
    h1, h2, p = f["h1"], f["h2"], f["p"]
    n = x.shape[1]                                    # batch size: columns
    W2, W3 = params["W2"], params["W3"]
    g = {"loss": 0.5 * np.sum((p - target) ** 2) / n}
    dp = (p - target) / n                             # rule: mse x
    g["W3"] = dp @ h2.T                               # rule: dense_columns W
    g["b3"] = dp.sum(axis=1)                          # rule: dense_columns b
    dh2 = W3.T @ dp                                   # rule: dense_columns x
    dz2 = dh2 * h2 * (1 - h2)                         # rule: sigmoid x
    g["W2"] = dz2 @ h1.T                              # rule: dense_columns W
    g["b2"] = dz2.sum(axis=1)                         # rule: dense_columns b
    dh1 = W2.T @ dz2                                  # rule: dense_columns x
    dz1 = dh1 * h1 * (1 - h1)                         # rule: sigmoid x
    g["W1"] = dz1 @ x.T                               # rule: dense_columns W
    g["b1"] = dz1.sum(axis=1)                         # rule: dense_columns b
    g["x"] = params["W1"].T @ dz1                     # rule: dense_columns x
    return g


def forward_rows(params: dict, x: np.ndarray) -> dict:
    """Every intermediate of the forward pass, row layout (``W`` is ``(in, out)``)."""
    h1 = sigmoid(x @ params["W1"] + params["b1"])
    h2 = sigmoid(h1 @ params["W2"] + params["b2"])
    p = h2 @ params["W3"] + params["b3"]
    return {"x": x, "h1": h1, "h2": h2, "p": p}


def backward_rows(params: dict, x: np.ndarray, target: np.ndarray) -> dict:
    """The same network and gradients in row layout: each line the transpose of its twin."""
    f = forward_rows(params, x)
    h1, h2, p = f["h1"], f["h2"], f["p"]
    n = x.shape[0]                                    # batch size: rows
    W2, W3 = params["W2"], params["W3"]
    g = {"loss": 0.5 * np.sum((p - target) ** 2) / n}
    dp = (p - target) / n                             # rule: mse x
    g["W3"] = h2.T @ dp                               # rule: dense W
    g["b3"] = dp.sum(axis=0)                          # rule: dense b
    dh2 = dp @ W3.T                                   # rule: dense x
    dz2 = dh2 * h2 * (1 - h2)                         # rule: sigmoid x
    g["W2"] = h1.T @ dz2                              # rule: dense W
    g["b2"] = dz2.sum(axis=0)                         # rule: dense b
    dh1 = dz2 @ W2.T                                  # rule: dense x
    dz1 = dh1 * h1 * (1 - h1)                         # rule: sigmoid x
    g["W1"] = x.T @ dz1                               # rule: dense W
    g["b1"] = dz1.sum(axis=0)                         # rule: dense b
    g["x"] = dz1 @ params["W1"].T                     # rule: dense x
    return g


def rule_lines(function) -> list[tuple[str, str, str]]:
    """``(code, entry, argument)`` for every line of ``function`` tagged ``# rule:``."""
    import inspect

    found = []
    for line in inspect.getsource(function).splitlines():
        code, tag, rule = line.partition("# rule:")
        if tag:
            entry, wrt = rule.split()
            found.append((code.strip(), entry, wrt))
    return found
