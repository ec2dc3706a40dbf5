r"""Self-attention with one head, restated from its definition.

Per sample :math:`X` (``T × d_model``):

.. math::
    Q = X W_q + \mathbf 1 b_q^\top,\ K = X W_k,\ V = X W_v + \mathbf 1 b_v^\top,

    S = \frac{Q K^\top}{\sqrt{d_h}},\quad P = \operatorname{softmax}(S),\quad
    O = P V,\quad Y = O W_o + \mathbf 1 b_o^\top

(softmax over each row; with a causal mask, :math:`P_{ij}` is the softmax over
:math:`j \le i` only: the masked scores are :math:`-\infty`, so their
exponentials are 0 and they are absent from the sums). The stated VJPs run the
chain backwards, each written once as an expression over the names of the
forward (:class:`Quantity`: :math:`Q, K, V, S, P, O`) and of the backward
(:class:`Backward`: :math:`\bar O, \bar P, \bar S, \dots`, defined after the
formula by :class:`Where`):

.. math::
    \bar O = G W_o^\top,\ \bar V = P^\top \bar O,\ \bar P = \bar O V^\top,

    \bar S = P \odot \big(\bar P - (P \odot \bar P)\mathbf 1 \mathbf 1^\top\big),

    \bar Q = \tfrac{1}{\sqrt{d_h}} \bar S K,\ \bar K = \tfrac{1}{\sqrt{d_h}} \bar S^\top Q,
.. math::
    \bar W_q = X^\top \bar Q,\ \bar b_q = \mathbf 1^\top \bar Q\ (\text{etc.}),\quad
    \bar W_o = O^\top G,\quad \bar X = \bar Q W_q^\top + \bar K W_k^\top + \bar V W_v^\top.

The notation is per sample; every shape set has a batch of one. SymPy cost
is kept low with tiny shapes (two or three positions, widths 2-3); the exact
check's residuals are rational functions of the exponentials, which
:mod:`derivations.verify.zero` proves zero by evaluation. Every shape set has
:math:`d_h \ge 2`, so that the scale :math:`1/\sqrt{d_h}` is never 1 (the
causal entry's VJPs are the same expressions, built by :func:`stated_vjps`).
There is no key bias :math:`b_k`: it would shift each row of :math:`S` by a
constant, which softmax ignores, so its gradient would be identically zero
(netlib leaves it out, as the numeric check of a zero gradient would only
compare rounding errors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
from sympy import HadamardProduct, MatAdd, MatMul
from sympy.core.symbol import Str

from derivations.core import Derivation, Mutant, uniform_sample
from derivations.layers.softmax import RowSoftmax, row_softmax
from derivations.notation import Operator, matrix, ones, size
from netlib import MultiHeadAttention

PARAMS = ("Wq", "Wk", "Wv", "Wo", "bq", "bv", "bo")


@dataclass(frozen=True)
class AttentionCase:
    """One sample of ``seq`` positions of width ``d_model``, one head of width ``d_head``."""

    seq: int
    d_model: int
    d_head: int

    def shapes(self, bias: bool = True) -> dict:
        d, h = self.d_model, self.d_head
        shapes = {"x": (1, self.seq, d), "Wq": (d, h), "Wk": (d, h), "Wv": (d, h),
                  "Wo": (h, d)}
        if bias:
            shapes.update({"bq": (h,), "bv": (h,), "bo": (d,)})
        return shapes


# -- the definitions, on explicit matrices ------------------------------------------------
def causal_mask(S: sympy.Matrix) -> sympy.Matrix:
    r"""``S`` with the scores of later positions, :math:`j > i`, set to :math:`-\infty`."""
    return sympy.Matrix(S.rows, S.cols, lambda i, j: S[i, j] if j <= i else -sympy.oo)


def _affine(X, W, b):
    Y = X * W
    return Y + sympy.ones(X.rows, 1) * b if b is not None else Y


class _Attention:
    """One entry: its causal and bias flags and its cases."""

    def __init__(self, causal: bool, bias: bool, *cases: AttentionCase) -> None:
        self.causal, self.bias, self.cases = causal, bias, cases

    def forward(self, symbols) -> sympy.Matrix:
        """``Y`` of the one sample, from the definition (see the module docstring)."""
        s, X = symbols, symbols["x"]
        d_head = s["Wq"].cols
        Q = _affine(X, s["Wq"], s.get("bq"))
        K = _affine(X, s["Wk"], None)        # no key bias (see the module docstring)
        V = _affine(X, s["Wv"], s.get("bv"))
        S = Q * K.T / sympy.sqrt(d_head)
        P = row_softmax(causal_mask(S) if self.causal else S)
        return _affine(P * V, s["Wo"], s.get("bo"))

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
        stated = stated_vjps(causal=self.causal, bias=self.bias)
        return Derivation(
            netlib_class=MultiHeadAttention,
            inputs=inputs,
            shape_sets=tuple(c.shapes(self.bias) for c in self.cases),
            forward=self.forward,
            stated={name: stated[name] for name in inputs},
            build=self.build,
            run=self.run,
            sample=uniform_sample(-1.0, 1.0),
            **fields,
        )


# -- the notation: operators, names, the stated VJPs -------------------------------------
class Parameter(sympy.MatrixSymbol):
    """A parameter's matrix symbol, named as netlib names it (``Wq``), shown as :math:`W_q`."""

    def _latex(self, printer):
        return f"{self.name[0]}_{{{self.name[1:]}}}"


class CausalMask(Operator):
    r"""The causal mask: :math:`S_{ij}` for :math:`j \le i`, :math:`-\infty` for :math:`j > i`."""

    def explicit(self, S):
        return causal_mask(S)

    def _latex(self, printer):
        return rf"\operatorname{{mask}}\left({printer._print(self.args[0])}\right)"


class Quantity(Operator):
    """A named quantity of the forward map: made concrete as its definition, shown as its name.

    The entry's ``definition_latex`` defines the name (:math:`Q, K, V, S, P, O`).
    """

    def __new__(cls, name: str | Str, definition):
        return super().__new__(cls, name if isinstance(name, Str) else Str(name), definition)

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def definition(self):
        return self.args[1]

    @property
    def shape(self):
        return self.definition.shape

    def explicit(self, name, value):
        return value

    def doit(self, **hints):
        """The quantity itself: its definition stays as written (SymPy's
        ``doit`` would evaluate it and reorder its terms)."""
        return self

    def _latex(self, printer):
        return self.name


class Backward(Quantity):
    r"""A named intermediate of the backward pass (:math:`\bar S`), defined by :class:`Where`."""


class Where(Operator):
    r"""``expr``, then the definition of each :class:`Backward` it uses, after those it uses."""

    def explicit(self, value):
        return value

    def backward_names(self) -> list[Backward]:
        """The :class:`Backward` names reached from ``expr``, each after those it uses."""
        found: list[Backward] = []

        def visit(node):
            for arg in node.args:
                if isinstance(arg, Backward):
                    visit(arg.definition)
                    if arg not in found:
                        found.append(arg)
                elif not isinstance(arg, Quantity):
                    visit(arg)

        visit(self.args[0])
        return found

    def _latex(self, printer):
        text = printer._print(self.args[0])
        definitions = [rf"{g.name} = {printer._print(g.definition)}" for g in self.backward_names()]
        if not definitions:
            return text
        # One definition a line, so that the formula never runs off the page.
        indent = r"\phantom{\text{where }} "
        lines = [text + ","] + [(r"\text{where } " if i == 0 else indent) + d
                                + ("," if i < len(definitions) - 1 else "")
                                for i, d in enumerate(definitions)]
        return r"\begin{aligned}[t] & " + r" \\ & ".join(lines) + r" \end{aligned}"


T, D_MODEL, D_H = size("T"), size("d_model"), size("d_h")


def _minus(first, second):
    """``first - second`` in this order (SymPy would sort the terms)."""
    return MatAdd(first, MatMul(-1, second))


def stated_vjps(causal: bool, bias: bool) -> dict:
    """The stated VJP of every input and parameter, over one sample's matrix symbols."""
    X, G = matrix("x", T, D_MODEL), matrix("G", T, D_MODEL)
    Wq, Wk, Wv = (Parameter(name, D_MODEL, D_H) for name in ("Wq", "Wk", "Wv"))
    Wo = Parameter("Wo", D_H, D_MODEL)
    bq, bv = Parameter("bq", D_H, 1), Parameter("bv", D_H, 1)
    column, row = ones(T, 1), ones(1, T)
    scale = 1 / sympy.sqrt(D_H)

    # The forward, by name.
    Q = Quantity("Q", X * Wq + column * bq.T if bias else X * Wq)
    K = Quantity("K", X * Wk)
    V = Quantity("V", X * Wv + column * bv.T if bias else X * Wv)
    S = Quantity("S", scale * Q * K.T)
    P = Quantity("P", RowSoftmax(CausalMask(S) if causal else S))
    O = Quantity("O", P * V)

    # Backwards: Y = O W_o + 1 b_oᵀ, O = P V, P = softmax(S) row by row
    # (masked entries of P are 0, so the same formula holds), S = Q Kᵀ / sqrt(d_h).
    dO = Backward(r"\bar{O}", G * Wo.T)
    dV = Backward(r"\bar{V}", P.T * dO)
    dP = Backward(r"\bar{P}", dO * V.T)
    dS = Backward(r"\bar{S}", HadamardProduct(P, _minus(dP, MatMul(HadamardProduct(P, dP),
                                                                   ones(T, T)))))
    dQ = Backward(r"\bar{Q}", scale * dS * K)
    dK = Backward(r"\bar{K}", scale * dS.T * Q)          # K enters S transposed

    return {
        # x feeds Q, K and V: the three paths add.
        "x": Where(MatAdd(dQ * Wq.T, dK * Wk.T, dV * Wv.T)),
        "Wq": Where(X.T * dQ),
        "Wk": Where(X.T * dK),
        "Wv": Where(X.T * dV),
        "Wo": O.T * G,
        # A bias is added to every row: its gradient sums over the positions.
        "bq": Where(row * dQ),
        "bv": Where(row * dV),
        "bo": row * G,
    }


def _definition(softmax: str, bias: bool) -> str:
    """The forward top-down, defining every name the stated VJPs use."""
    b_o, b_q, b_v = ((rf" + \mathbf 1 b_{n}^\top" if bias else "") for n in "oqv")
    return (rf"Y = O W_o{b_o},\quad O = P V,\quad P = {softmax}\ \text{{(each row)}},\quad "
            rf"S = \frac{{Q K^\top}}{{\sqrt{{d_h}}}},\quad "
            rf"Q = X W_q{b_q},\ K = X W_k,\ V = X W_v{b_v}")


# Small shapes on purpose: each added width multiplies the exact check's cost
# (the softmax Jacobian entries are rational functions of the exponentials).
# No width is 1 where it would hide a factor: with d_h = 1 a backward without
# the scale 1/sqrt(d_h) passes (issue 17), so every set has d_h = 2 or 3, and
# x and W_q are not square in the first set of each entry. The causal entry
# has seq = 3 in one set, so that more than one row is partly masked.
# The biases are derived in the causal entry only: with them, the unmasked
# entry's exact check costs three times as much (more terms in every score).
# A width of 1 (d_model = 1) was tried and dropped: its gradients for Wq, bq
# can be tiny sums of larger terms, so 1e-12 relative agreement fails on
# rounding alone at about 1 seed in 100.
ATTENTION_CASES = (AttentionCase(2, 3, 2), AttentionCase(2, 2, 3))
CAUSAL_CASES = (AttentionCase(3, 2, 3), AttentionCase(2, 3, 2))

class AttentionKeyGradientNotTransposed(MultiHeadAttention):
    def _backward(self, g):
        dx = super()._backward(g)
        # Redo the key path with dK = dS Q instead of dSᵀ Q.
        d_heads = self._split(g @ self.params["Wo"].T)
        dp = d_heads @ np.swapaxes(self._v, -1, -2)
        ds = self._p * (dp - (dp * self._p).sum(axis=-1, keepdims=True))
        scale = 1 / np.sqrt(self.d_head)
        right = self._merge(np.swapaxes(ds, -1, -2) @ self._q * scale)
        wrong = self._merge(ds @ self._q * scale)
        self.grads["Wk"][...] = np.tensordot(self._x, wrong, axes=([0, 1], [0, 1]))
        return dx + (wrong - right) @ self.params["Wk"].T


class AttentionOutputBiasAveraged(MultiHeadAttention):
    def _backward(self, g):
        dx = super()._backward(g)
        # A mean over the batch and the positions where the sum belongs.
        self.grads["bo"][...] = g.reshape(-1, g.shape[-1]).mean(axis=0)
        return dx


ATTENTION = _Attention(False, False, *ATTENTION_CASES).derivation(
    name="attention",
    title="Self-attention (one head, projections without biases)",
    definition_latex=_definition(r"\operatorname{softmax}(S)", bias=False),
    notes="netlib's MultiHeadAttention with num_heads=1; more heads split the "
          "projected columns into blocks and attend per block. No key bias: its "
          "gradient would be exactly zero (softmax ignores a per-row shift).",
    mutants=(
        Mutant("attention_key_gradient_not_transposed",
               "dK = dS Q instead of dSᵀ Q (S = Q Kᵀ)",
               "key gradients mixed across positions",
               AttentionKeyGradientNotTransposed),
    ),
)

ATTENTION_CAUSAL = _Attention(True, True, *CAUSAL_CASES).derivation(
    name="attention_causal",
    title="Causal self-attention (one head, projections with biases)",
    definition_latex=_definition(r"\operatorname{softmax}(\operatorname{mask}(S))", bias=True)
    + r",\quad \operatorname{mask}(S)_{ij} = -\infty \text{ for } j > i",
    notes="Masked scores never enter a sum, so their weights and gradients are "
          "exactly zero; netlib sets them to -inf before the softmax.",
    mutants=(
        Mutant("attention_causal_bo_averaged",
               "dbo = mean of G over the batch and positions",
               "dbo is 1/(N T) of the truth",
               AttentionOutputBiasAveraged),
    ),
)
