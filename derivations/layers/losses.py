r"""Losses, restated as :math:`1\times 1` matrices of the prediction ``x`` and a target ``t``.

A loss is a mean over the batch of size :math:`N`, so each forward map below
carries :math:`1/N` and so does each stated VJP: the scalar upstream gradient
:math:`G` (a :math:`1\times 1` matrix, random in the numeric check) times
:math:`\partial L / \partial x`. The target is a constant, never
differentiated: a matrix of symbols (the exact check then holds for every
target) except for softmax cross-entropy, whose one-hot target is concrete.
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.core import Derivation, Mutant, N, Sigma, sigmoid, uniform_sample
from derivations.layers.softmax import RowSoftmax
from derivations.notation import entrywise, matrix, size
from netlib import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    MeanSquaredError,
    SoftmaxCrossEntropy,
)

SHAPES = ({"x": (2, 3), "t": (2, 3)}, {"x": (3, 2), "t": (3, 2)})


def _mean_of(per_entry):
    """``forward`` for a loss summing ``per_entry(x, t)`` over entries, divided by N."""

    def forward(symbols):
        X, T = symbols["x"], symbols["t"]
        total = sum(per_entry(X[i], T[i]) for i in range(len(X)))
        return sympy.Matrix([[total / X.rows]])

    return forward


def mse(x, t):
    """Half the squared error of one entry."""
    return sympy.Rational(1, 2) * (x - t) ** 2


def bce(p, t):
    """Cross-entropy of a probability p against a target t in [0, 1]."""
    return -(t * sympy.log(p) + (1 - t) * sympy.log(1 - p))


def bce_logits(z, t):
    """Cross-entropy of p = σ(z), written through σ (not netlib's stable form)."""
    return bce(sigmoid(z), t)


def softmax_cross_entropy(symbols):
    r""":math:`\frac1N \sum_n \big[\log \sum_k e^{z_{nk}} - \sum_k t_{nk} z_{nk}\big]`."""
    Z, T = symbols["x"], symbols["t"]
    total = sum(sympy.log(sum(Z.row(n).applyfunc(sympy.exp))) - (T.row(n) * Z.row(n).T)[0]
                for n in range(Z.rows))
    return sympy.Matrix([[total / Z.rows]])


def target_label(n: int, classes: int) -> int:
    """Sample n's class: counting down from the last, then staying at 0.

    The first ``classes`` samples get distinct labels, so with 2 or more
    classes not every sample has the same one (``(2n + 1) mod 2`` gave every
    sample class 1). At the entry's shapes the sequence is 2, 1 (3 classes)
    and 1, 0, 0 (2 classes): neither is a palindrome nor periodic, so taking
    labels from another sample (a reversed or shifted batch) changes the
    gradient.
    """
    return max(classes - 1 - n, 0)


def one_hot_target(shapes):
    """A fixed one-hot target: sample n belongs to class :func:`target_label` (n, classes)."""
    n, classes = shapes["t"]
    return {"t": sympy.Matrix(n, classes, lambda i, k: int(k == target_label(i, classes)))}


# The page's notation: predictions X and targets T of N samples and C
# columns; the upstream gradient of a loss is the scalar G (a 1×1 matrix in
# the checks, where G is random).
C = size("C")
X_PRED, T_TARGET = matrix("x", N, C), matrix("t", N, C)
G_SCALAR = sympy.Symbol("G", real=True)


class MSEWithoutHalf(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, 2 * diff

class MSEWithoutMean(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, diff * len(pred)

class MSESignFlipped(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, -diff


MSE = Derivation(
    name="mse",
    title="Mean squared error",
    netlib_class=MeanSquaredError,
    kind="loss",
    definition_latex=r"L = \frac{1}{N} \sum_{n,k} \tfrac12 (x_{nk} - t_{nk})^2",
    inputs=("x",),
    constants=("t",),
    shape_sets=SHAPES,
    forward=_mean_of(mse),
    stated={"x": G_SCALAR / N * (X_PRED - T_TARGET)},
    build=lambda values: MeanSquaredError(),
    notes="The 1/2 cancels the 2 of the derivative.",
    mutants=(
        Mutant("mse_without_half",
               "gradient 2(ŷ - y)/N for the loss with ½",
               "twice the truth",
               MSEWithoutHalf),
        Mutant("mse_without_mean",
               "gradient ŷ - y without 1/N",
               "batch size times the truth",
               MSEWithoutMean),
        Mutant("mse_sign",
               "gradient (y - ŷ)/N",
               "the gradient is negated",
               MSESignFlipped),
    ),
)

class BCELogitsFormulaOnProbabilities(BinaryCrossEntropy):
    def _value_and_grad(self, pred, target):
        value, _ = super()._value_and_grad(pred, target)
        return value, pred - target


BCE = Derivation(
    name="bce",
    title="Binary cross-entropy (probabilities)",
    netlib_class=BinaryCrossEntropy,
    kind="loss",
    definition_latex=r"L = -\frac{1}{N} \sum_{n,k} \big[t_{nk} \log x_{nk}"
                     r" + (1 - t_{nk}) \log(1 - x_{nk})\big]",
    inputs=("x",),
    constants=("t",),
    shape_sets=SHAPES,
    forward=_mean_of(bce),
    stated={"x": G_SCALAR / N * sympy.HadamardProduct(
        X_PRED - T_TARGET,
        sympy.HadamardPower(sympy.HadamardProduct(X_PRED, entrywise(lambda p: 1 - p, X_PRED)),
                            -1))},
    build=lambda values: BinaryCrossEntropy(),
    # Probabilities well inside (0, 1): netlib clips at machine epsilon.
    sample=uniform_sample(ranges={"x": (0.05, 0.95), "t": (0.0, 1.0)}),
    assumptions={"x": {"positive": True}},
    notes="netlib clips probabilities to [eps, 1 - eps]; prefer the logits form.",
    mutants=(
        Mutant("bce_logits_formula",
               "(p - t)/N, the gradient with respect to the logits, used for"
               " probabilities",
               "missing the 1/(p(1 - p)) factor",
               BCELogitsFormulaOnProbabilities),
    ),
)

class BCELogitsWithoutSigmoid(BinaryCrossEntropyWithLogits):
    def _value_and_grad(self, z, target):
        value, _ = super()._value_and_grad(z, target)
        return value, z - target


BCE_LOGITS = Derivation(
    name="bce_logits",
    title="Binary cross-entropy with logits",
    netlib_class=BinaryCrossEntropyWithLogits,
    kind="loss",
    definition_latex=r"L = -\frac{1}{N} \sum_{n,k} \big[t_{nk} \log \sigma(x_{nk})"
                     r" + (1 - t_{nk}) \log(1 - \sigma(x_{nk}))\big]",
    inputs=("x",),
    constants=("t",),
    shape_sets=SHAPES,
    forward=_mean_of(bce_logits),
    stated={"x": G_SCALAR / N * (entrywise(Sigma, X_PRED) - T_TARGET)},
    build=lambda values: BinaryCrossEntropyWithLogits(),
    sample=uniform_sample(ranges={"x": (-3.0, 3.0), "t": (0.0, 1.0)}),
    notes="netlib evaluates max(z, 0) - z t + log(1 + e^{-|z|}), equal to the "
          "definition and finite for every z.",
    mutants=(
        Mutant("bce_logits_without_sigmoid",
               "(z - t)/N: the logit used as a probability",
               "grows without bound with |z|",
               BCELogitsWithoutSigmoid),
    ),
)

class SoftmaxCrossEntropySignFlipped(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, grad = super()._value_and_grad(z, target)
        return value, -grad

class SoftmaxCrossEntropyMeanTwice(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, grad = super()._value_and_grad(z, target)
        return value, grad / len(z)

class SoftmaxCrossEntropySoftmaxOverBatch(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, _ = super()._value_and_grad(z, target)
        if target.ndim == 1:                   # integer labels: their one-hot rows
            target = np.eye(z.shape[1], dtype=z.dtype)[target]
        e = np.exp(z - z.max(axis=0))
        return value, e / e.sum(axis=0) - target      # normalised over samples


SOFTMAX_CROSS_ENTROPY = Derivation(
    name="softmax_cross_entropy",
    title="Softmax cross-entropy (integer labels)",
    netlib_class=SoftmaxCrossEntropy,
    kind="loss",
    definition_latex=r"L = \frac{1}{N} \sum_n \Big[\log \sum_k e^{x_{nk}}"
                     r" - \sum_k t_{nk} x_{nk}\Big], \quad t_n = \text{one-hot}(\text{label}_n)",
    inputs=("x",),
    constants=("t",),
    fixed_constants=one_hot_target,
    shape_sets=SHAPES,
    forward=softmax_cross_entropy,
    # Needs Σ_k t_nk = 1 (one-hot rows), which is why the target is fixed.
    stated={"x": G_SCALAR / N * (RowSoftmax(X_PRED) - T_TARGET)},
    build=lambda values: SoftmaxCrossEntropy(),
    netlib_target=lambda values: np.argmax(values["t"], axis=1).astype(np.int64),
    notes="netlib receives integer labels; the derivation holds their one-hot "
          "matrix as a constant. netlib's log-sum-exp is max-shifted.",
    mutants=(
        Mutant("softmax_cross_entropy_sign",
               "(T - softmax(Z))/N",
               "the gradient is negated",
               SoftmaxCrossEntropySignFlipped),
        Mutant("softmax_cross_entropy_mean_twice",
               "(softmax(Z) - T)/N²: 1/N applied twice",
               "1/batch of the truth",
               SoftmaxCrossEntropyMeanTwice),
        Mutant("softmax_cross_entropy_softmax_over_batch",
               "softmax taken over the batch axis",
               "probabilities normalised over samples",
               SoftmaxCrossEntropySoftmaxOverBatch),
    ),
)
