r"""Scaled dot-product attention, and self-attention with learnable projections.

**Scaled dot-product attention** of queries :math:`Q` (``(T, d)``), keys
:math:`K` (``(T', d)``) and values :math:`V` (``(T', d_v)``):

.. math:: S = \frac{Q K^\top}{\sqrt d}, \qquad P = \operatorname{softmax}_\text{rows}(S),
          \qquad O = P V.

With a *causal* mask, :math:`S_{ij} = -\infty` for :math:`j > i` (a position
attends only to itself and earlier ones), so :math:`P_{ij} = 0` there.

Its VJPs, for :math:`G = \partial L/\partial O`, run the three steps backwards
- the product (dense-layer rules), the row softmax (see
:mod:`netlib.layers.softmax`), the scaled product again:

.. math::
    \frac{\partial L}{\partial V} = P^\top G, \quad
    \frac{\partial L}{\partial P} = G V^\top, \quad
    \frac{\partial L}{\partial S} = P \odot \Big(\frac{\partial L}{\partial P}
        - \operatorname{rowsum}\big(P \odot \tfrac{\partial L}{\partial P}\big)\Big),
.. math::
    \frac{\partial L}{\partial Q} = \frac{1}{\sqrt d}\frac{\partial L}{\partial S} K, \qquad
    \frac{\partial L}{\partial K} = \frac{1}{\sqrt d}
        \Big(\frac{\partial L}{\partial S}\Big)^{\!\top} Q.

Masked entries need no special case: :math:`P_{ij} = 0` makes
:math:`\partial L/\partial S_{ij} = 0`. Note the transposes: :math:`Q` and
:math:`K` enter :math:`S` on opposite sides, so their gradients do too.

**Self-attention** (:class:`MultiHeadAttention`) is a documented composition:
project :math:`Q = X W_q + b_q`, :math:`K = X W_k`, :math:`V = X W_v + b_v`,
split the columns into heads, attend per head, concatenate and project out,
:math:`Y = O W_o + b_o`. Because :math:`X` feeds all three projections, its
gradient is the *sum* of three dense-layer VJPs.
"""

from __future__ import annotations

import numpy as np

from netlib._validation import (
    as_float_array,
    check_axis_size,
    check_ndim,
    float_dtype,
    positive_ints,
)
from netlib.layers.base import Layer
from netlib.layers.dense import init_weight
from netlib.layers.softmax import softmax

__all__ = ["MultiHeadAttention"]


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                 causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Return :math:`O = \operatorname{softmax}(Q K^\top/\sqrt d)\, V` and the weights :math:`P`.

    ``q`` is ``(..., T, d)``, ``k`` ``(..., T', d)``, ``v`` ``(..., T', d_v)``;
    leading axes (batch, heads) are broadcast. ``causal`` needs ``T == T'``.
    """
    d = q.shape[-1]
    scores = (q @ np.swapaxes(k, -1, -2)) / q.dtype.type(np.sqrt(d))
    if causal:
        t, t_k = scores.shape[-2:]
        if t != t_k:
            raise ValueError(f"scaled_dot_product_attention: expected as many queries as keys "
                             f"for a causal mask, got {t} queries and {t_k} keys")
        later = np.triu(np.ones((t, t), dtype=bool), k=1)     # j > i
        scores = np.where(later, -np.inf, scores)
    p = softmax(scores, axis=-1)
    return p @ v, p


def scaled_dot_product_attention_vjp(g: np.ndarray, q: np.ndarray, k: np.ndarray,
                                     v: np.ndarray, p: np.ndarray):
    r"""VJPs ``(dq, dk, dv)`` of :func:`scaled_dot_product_attention` for upstream ``g``.

    ``p`` is the attention-weight matrix the forward pass returned (with the
    causal zeros already in it, so the mask needs no second look).
    """
    scale = q.dtype.type(1 / np.sqrt(q.shape[-1]))
    dv = np.swapaxes(p, -1, -2) @ g                           # Pᵀ G
    dp = g @ np.swapaxes(v, -1, -2)                           # G Vᵀ
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))      # row-softmax VJP
    dq = (ds @ k) * scale
    dk = (np.swapaxes(ds, -1, -2) @ q) * scale                # S = Q Kᵀ: K on the right
    return dq, dk, dv


class MultiHeadAttention(Layer):
    r"""Self-attention over ``x`` of shape ``(batch, seq, d_model)``, with ``num_heads`` heads.

    With :math:`h` heads of width :math:`d_h` (``d_head``, default
    ``d_model // num_heads``):

    .. math::
        Q = X W_q + b_q,\ K = X W_k,\ V = X W_v + b_v
        \quad (W_q, W_k, W_v \in \mathbb R^{d_\text{model} \times h d_h}),
    .. math::
        O^{(i)} = \operatorname{softmax}\big(Q^{(i)} K^{(i)\top}/\sqrt{d_h}\big) V^{(i)},

        Y = [O^{(1)} \cdots O^{(h)}]\, W_o + b_o
        \quad (W_o \in \mathbb R^{h d_h \times d_\text{model}}),

    where :math:`Q^{(i)}` are the columns :math:`i d_h \dots (i+1) d_h - 1` of
    :math:`Q`, and each sample of the batch attends only within itself. With
    ``causal=True`` position :math:`t` attends to positions :math:`\le t`.

    VJPs: :math:`\partial L/\partial W_o = O^\top G` (summed over the batch),
    then :func:`scaled_dot_product_attention_vjp` per head, then the dense
    rules for each projection; :math:`\partial L/\partial X` is the sum
    :math:`\overline Q W_q^\top + \overline K W_k^\top + \overline V W_v^\top`
    of the three paths (bars: gradients). A single head (``num_heads=1``) is
    plain scaled dot-product attention with projections.

    A residual connection is :class:`~netlib.layers.combinators.Residual`
    around this layer (``d_model`` in and out).

    Parameters
    ----------
    d_model : int
        Width of the input and of the output.
    num_heads : int
        Number of heads.
    d_head : int, optional
        Width of each head (default ``d_model // num_heads``).
    causal : bool
        Mask future positions.
    bias : bool
        Whether the projections have biases ``bq, bv, bo``. There is no key
        bias: adding :math:`b_k` to every key adds :math:`q_i \cdot b_k` to the
        whole row :math:`i` of scores, which the softmax ignores, so its
        gradient would be identically zero.
    rng : numpy.random.Generator, optional
        Randomness for the weights (Xavier initialisation, biases 0).
    dtype : float32 or float64
        Dtype of the parameters and the computation.

    Examples
    --------
    >>> import numpy as np
    >>> mha = MultiHeadAttention(4, num_heads=2, causal=True, rng=np.random.default_rng(0))
    >>> y = mha.forward(np.ones((3, 5, 4)))
    >>> y.shape, mha.backward(np.ones(y.shape)).shape
    ((3, 5, 4), (3, 5, 4))
    """

    name = "attention"

    def __init__(self, d_model: int, num_heads: int = 1, *, d_head: int | None = None,
                 causal: bool = False, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        who = "MultiHeadAttention"
        self.d_model, self.num_heads = positive_ints(who, d_model=d_model, num_heads=num_heads)
        if d_head is None:
            if self.num_heads > self.d_model:
                raise ValueError(f"{who}: expected num_heads <= d_model when d_head is not "
                                 f"given (d_head = d_model // num_heads), got num_heads "
                                 f"{self.num_heads} > d_model {self.d_model}")
            d_head = self.d_model // self.num_heads
        (self.d_head,) = positive_ints(who, d_head=d_head)
        dtype = float_dtype(who, dtype)
        self.causal = bool(causal)
        inner = self.num_heads * self.d_head
        rng = np.random.default_rng() if rng is None else rng
        for name in ("q", "k", "v"):
            self.params[f"W{name}"] = init_weight(self.d_model, inner, "xavier", rng, 0.0, dtype)
        self.params["Wo"] = init_weight(inner, self.d_model, "xavier", rng, 0.0, dtype)
        if bias:
            for name, size in (("q", inner), ("v", inner), ("o", self.d_model)):
                self.params[f"b{name}"] = np.zeros(size, dtype=dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    @classmethod
    def from_params(cls, Wq, Wk, Wv, Wo, bq=None, bv=None, bo=None, *,
                    num_heads: int = 1, causal: bool = False) -> MultiHeadAttention:
        """Build a layer around given projections (copied); biases all or none."""
        given = {"Wq": Wq, "Wk": Wk, "Wv": Wv, "Wo": Wo, "bq": bq, "bv": bv, "bo": bo}
        biases = [given[key] is not None for key in ("bq", "bv", "bo")]
        if any(biases) and not all(biases):
            raise ValueError("MultiHeadAttention.from_params: expected all three biases "
                             "(bq, bv, bo) or none, got only some")
        who = "MultiHeadAttention.from_params"
        (num_heads,) = positive_ints(who, num_heads=num_heads)
        Wq = as_float_array(who, "Wq", Wq)
        check_ndim(who, "Wq", Wq, 2, "(d_model, num_heads * d_head)")
        d_model, inner = Wq.shape
        if inner % num_heads:
            raise ValueError(f"MultiHeadAttention.from_params: expected Wq's {inner} columns "
                             f"to split into {num_heads} heads, got a remainder")
        layer = cls(d_model, num_heads, d_head=inner // num_heads, causal=causal,
                    bias=all(biases), dtype=Wq.dtype)
        return layer.set_params("MultiHeadAttention.from_params",
                                **{key: given[key] for key in layer.params})

    def describe(self):
        extra = "" if "bo" in self.params else ", bias=False"
        extra += ", causal=True" if self.causal else ""
        return (f"MultiHeadAttention({self.d_model}, num_heads={self.num_heads}, "
                f"d_head={self.d_head}{extra})")

    def _project(self, x, name):
        y = x @ self.params[f"W{name}"]
        if f"b{name}" in self.params:
            y += self.params[f"b{name}"]
        return y

    def _split(self, z):
        """``(B, T, h*d_h) -> (B, h, T, d_h)``: column block i is head i."""
        b, t, _ = z.shape
        return z.reshape(b, t, self.num_heads, self.d_head).transpose(0, 2, 1, 3)

    def _merge(self, z):
        """Inverse of :meth:`_split`."""
        b, _, t, _ = z.shape
        return z.transpose(0, 2, 1, 3).reshape(b, t, self.num_heads * self.d_head)

    def _forward(self, x):
        who = self.describe()
        expected = f"(batch, seq, {self.d_model})"
        check_ndim(who, "x", x, 3, expected)
        check_axis_size(who, "x", x, 2, self.d_model, expected)
        self._x = x
        self._q, self._k, self._v = (self._split(self._project(x, name)) for name in "qkv")
        heads, self._p = scaled_dot_product_attention(self._q, self._k, self._v, self.causal)
        self._o = self._merge(heads)
        return self._project(self._o, "o")

    def _backward(self, g):
        x, params, grads = self._x, self.params, self.grads
        # y = O Wo + bo per sample: dense rules with the batch and seq axes as rows.
        grads["Wo"][...] = np.tensordot(self._o, g, axes=([0, 1], [0, 1]))
        if "bo" in grads:
            np.sum(g, axis=(0, 1), out=grads["bo"])
        d_heads = self._split(g @ params["Wo"].T)
        dq, dk, dv = scaled_dot_product_attention_vjp(d_heads, self._q, self._k, self._v,
                                                      self._p)
        dx = np.zeros_like(x)
        for name, d in (("q", dq), ("k", dk), ("v", dv)):
            d = self._merge(d)
            grads[f"W{name}"][...] = np.tensordot(x, d, axes=([0, 1], [0, 1]))   # Xᵀ D
            if f"b{name}" in grads:
                np.sum(d, axis=(0, 1), out=grads[f"b{name}"])
            dx += d @ params[f"W{name}"].T      # x feeds all three projections: add
        return dx
