r"""Self-attention with one head, restated from its definition.

Per sample :math:`X` (``T × d_model``):

.. math:: Q = X W_q + \mathbf 1 b_q^\top,\ K = X W_k,\
          V = X W_v + \mathbf 1 b_v^\top,\quad
          S = \frac{Q K^\top}{\sqrt{d_h}},\quad P = \operatorname{softmax}_\text{rows}(S),\quad
          Y = P V W_o + \mathbf 1 b_o^\top

(with a causal mask, :math:`P_{ij}` is the softmax over :math:`j \le i` only:
the masked entries are simply absent from the sums). The stated VJPs run the
chain backwards, step by step:

.. math::
    \bar O = G W_o^\top,\ \bar V = P^\top \bar O,\ \bar P = \bar O V^\top,\
    \bar S = P \odot \big(\bar P - \operatorname{rowsum}(P \odot \bar P)\big),\
    \bar Q = \bar S K/\sqrt{d_h},\ \bar K = \bar S^\top Q/\sqrt{d_h},
.. math::
    \bar W_q = X^\top \bar Q,\ \bar b_q = \mathbf 1^\top \bar Q\ (\text{etc.}),\quad
    \bar W_o = O^\top G,\quad \bar X = \bar Q W_q^\top + \bar K W_k^\top + \bar V W_v^\top.

SymPy cost is kept low with tiny shapes (two or three positions, widths 2-3)
and by comparing rational functions of the exponentials (the exact check's
``cancel``). There is no key bias :math:`b_k`: it would shift each row of
:math:`S` by a constant, which softmax ignores, so its gradient would be
identically zero (netlib leaves it out, as the numeric check of a zero
gradient would only compare rounding errors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from derivations.core import Derivation, matrix_shape, uniform_sample
from netlib import MultiHeadAttention

PARAMS = ("Wq", "Wk", "Wv", "Wo", "bq", "bv", "bo")


@dataclass(frozen=True)
class AttentionCase:
    """``batch × seq × d_model`` input, one head of width ``d_head``."""

    batch: int
    seq: int
    d_model: int
    d_head: int

    def shapes(self, bias: bool = True) -> dict:
        d, h = self.d_model, self.d_head
        shapes = {"x": (self.batch, self.seq, d), "Wq": (d, h), "Wk": (d, h), "Wv": (d, h),
                  "Wo": (h, d)}
        if bias:
            shapes.update({"bq": (h,), "bv": (h,), "bo": (d,)})
        return shapes


def _row_softmax(S: sympy.Matrix, causal: bool) -> sympy.Matrix:
    """Softmax of each row over the allowed columns (``j <= i`` when causal)."""
    def allowed(i):
        return range(i + 1) if causal else range(S.cols)

    E = {(i, j): sympy.exp(S[i, j]) for i in range(S.rows) for j in allowed(i)}
    return sympy.Matrix(S.rows, S.cols, lambda i, j: E[i, j] / sum(E[i, k] for k in allowed(i))
                        if (i, j) in E else sympy.S.Zero)


def _affine(X, W, b):
    Y = X * W
    return Y + sympy.ones(X.rows, 1) * b if b is not None else Y


def _samples(symbols, case: AttentionCase):
    """Each sample's ``T × d_model`` block of the stacked ``x`` matrix."""
    X, T = symbols["x"], case.seq
    return [X[n * T:(n + 1) * T, :] for n in range(case.batch)]


def _per_sample(symbols, case: AttentionCase, causal: bool):
    """Q, K, V, P, O of every sample."""
    s = symbols
    scale = 1 / sympy.sqrt(case.d_head)
    out = []
    for X in _samples(symbols, case):
        Q = _affine(X, s["Wq"], s.get("bq"))
        K = _affine(X, s["Wk"], None)        # no key bias (see the module docstring)
        V = _affine(X, s["Wv"], s.get("bv"))
        P = _row_softmax(Q * K.T * scale, causal)
        out.append((X, Q, K, V, P, P * V))
    return out


class _Attention:
    """One entry's cases (looked up by the matrix shape of ``x``) and causal flag."""

    def __init__(self, causal: bool, bias: bool, *cases: AttentionCase) -> None:
        self.causal, self.bias, self.cases = causal, bias, cases
        self.by_matrix = {matrix_shape((c.batch, c.seq, c.d_model)): c for c in cases}

    def case(self, symbols) -> AttentionCase:
        return self.by_matrix[symbols["x"].shape]

    def forward(self, symbols) -> sympy.Matrix:
        parts = _per_sample(symbols, self.case(symbols), self.causal)
        return sympy.Matrix.vstack(*(_affine(O, symbols["Wo"], symbols.get("bo"))
                                     for *_, O in parts))

    def stated(self, wrt: str):
        def vjp(G, symbols):
            return self.vjps(G, symbols)[wrt]

        return vjp

    def vjps(self, G, symbols) -> dict:
        """Every stated VJP, from the chain run backwards sample by sample."""
        s, case = symbols, self.case(symbols)
        scale = 1 / sympy.sqrt(case.d_head)
        T = case.seq
        total = {name: sympy.zeros(*s[name].shape) for name in s if name != "x"}
        dx_blocks = []
        for n, (X, Q, K, V, P, O) in enumerate(_per_sample(s, case, self.causal)):
            Gn = G[n * T:(n + 1) * T, :]
            dO = Gn * s["Wo"].T
            dV = P.T * dO
            dP = dO * V.T
            # Row softmax VJP: P ⊙ (dP - rowsum(P ⊙ dP)).
            weighted = P.multiply_elementwise(dP)
            row_sums = weighted * sympy.ones(P.cols, 1)
            dS = P.multiply_elementwise(dP - row_sums * sympy.ones(1, P.cols))
            dQ = dS * K * scale
            dK = dS.T * Q * scale                    # S = Q Kᵀ: K enters from the right
            ones = sympy.ones(1, T)
            for name, D, inp in (("q", dQ, X), ("k", dK, X), ("v", dV, X), ("o", Gn, O)):
                total[f"W{name}"] += inp.T * D
                if f"b{name}" in total:
                    total[f"b{name}"] += ones * D
            # x feeds Q, K and V: the three paths add.
            dx_blocks.append(dQ * s["Wq"].T + dK * s["Wk"].T + dV * s["Wv"].T)
        total["x"] = sympy.Matrix.vstack(*dx_blocks)
        return total

    def build(self, values) -> MultiHeadAttention:
        params = {name: values[name] for name in PARAMS if name in values}
        return MultiHeadAttention.from_params(**params, num_heads=1, causal=self.causal)

    @staticmethod
    def run(layer, values, g):
        y = layer.forward(values["x"])
        dx = layer.backward(np.reshape(g, y.shape))
        return {"x": dx, **{name: np.array(v) for name, v in layer.grads.items()}}

    def derivation(self, **fields) -> Derivation:
        inputs = ("x", *(p for p in PARAMS if self.bias or p.startswith("W")))
        return Derivation(
            netlib_class=MultiHeadAttention,
            inputs=inputs,
            shape_sets=tuple(c.shapes(self.bias) for c in self.cases),
            forward=self.forward,
            stated={name: self.stated(name) for name in inputs},
            stated_latex={name: STATED_LATEX[name] for name in inputs},
            build=self.build,
            run=self.run,
            sample=uniform_sample(-1.0, 1.0),
            **fields,
        )


STATED_LATEX = {
    "x": r"\bar Q W_q^\top + \bar K W_k^\top + \bar V W_v^\top",
    "Wq": r"X^\top \bar Q,\ \bar Q = \bar S K / \sqrt{d_h}",
    "Wk": r"X^\top \bar K,\ \bar K = \bar S^\top Q / \sqrt{d_h}",
    "Wv": r"X^\top \bar V,\ \bar V = P^\top G W_o^\top",
    "Wo": r"O^\top G",
    "bq": r"\mathbf 1^\top \bar Q",
    "bv": r"\mathbf 1^\top \bar V",
    "bo": r"\mathbf 1^\top G",
}

_DEFINITION = (r"Y = \operatorname{softmax}\Big(\frac{(XW_q + b_q)(XW_k)^\top}"
               r"{\sqrt{d_h}}\Big)(XW_v + b_v)\,W_o + b_o")

# Tiny shapes on purpose: each added width multiplies the exact check's cost
# (the softmax Jacobian entries are rational functions of the exponentials).
# The biases are derived in the causal entry only: with them, the unmasked
# entry's exact check costs three times as much (more terms in every score).
# A width of 1 (d_model = 1) was tried and dropped: its gradients for Wq, bq
# can be tiny sums of larger terms, so 1e-12 relative agreement fails on
# rounding alone at about 1 seed in 100.
ATTENTION = _Attention(False, False, AttentionCase(1, 3, 2, 1),
                       AttentionCase(1, 2, 3, 1)).derivation(
    name="attention",
    title="Self-attention (one head, projections without biases)",
    definition_latex=r"Y = \operatorname{softmax}\Big(\frac{(XW_q)(XW_k)^\top}{\sqrt{d_h}}\Big)"
                     r"\,X W_v W_o",
    notes="netlib's MultiHeadAttention with num_heads=1; more heads split the "
          "projected columns into blocks and attend per block. No key bias: its "
          "gradient would be exactly zero (softmax ignores a per-row shift).",
)

ATTENTION_CAUSAL = _Attention(True, True, AttentionCase(1, 3, 2, 1),
                              AttentionCase(1, 2, 3, 1)).derivation(
    name="attention_causal",
    title="Causal self-attention (one head, projections with biases)",
    definition_latex=_DEFINITION + r",\quad S_{ij} = -\infty \text{ for } j > i",
    notes="Masked scores never enter a sum, so their weights and gradients are "
          "exactly zero; netlib sets them to -inf before the softmax.",
)
