r"""The mutation catalogue: realistic wrong backward passes, and the checks that catch them.

Each :class:`Mutant` is one mistake people make when they write backprop by
hand (a missing transpose, a bias summed over the wrong axis, ``1/batch``
applied twice...), attached to the registry entry it breaks. Its ``wrong``
class is a subclass of the entry's netlib class that overrides only the
backward computation; :meth:`Mutant.make` builds the entry's layer with the
given values and gives it the wrong backward. Two independent checks must
reject every mutant:

* **finite differences** — :func:`derivations.verify.finite_difference_check`,
  netlib's one finite-difference engine (:mod:`netlib.gradcheck`) applied to
  the entry;
* **symbolic** — :func:`symbolic_check`, the engine's numeric check
  (:func:`derivations.verify.check_numeric`: netlib's VJP against the
  lambdified SymPy Jacobian) applied to the mutated layer.

Both use non-square shapes (the entry's shape sets) and random upstream
gradients. :func:`square_ones_check` shows why: with every axis the same size
and an all-ones upstream gradient, some mutants pass, and each entry records
whether it does (``slips_square_ones``, confirmed by the tests).

Adding a mutant (one per new layer, say) is one class and one line in
:data:`MUTANTS`::

    class LayerNormMeanNotSubtracted(LayerNorm):
        def _backward(self, g): ...
    Mutant("layer_norm_...", "layer_norm", "one line: the mistake",
           "one line: what goes wrong", LayerNormMeanNotSubtracted)
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from derivations.core import Derivation
from derivations.layers.embedding import EmbeddingForChecks
from derivations.registry import REGISTRY, get
from derivations.verify import (
    check_numeric,
    finite_difference_check,
    netlib_forward,
    sample_values,
)
from netlib import (
    ELU,
    GELU,
    AvgPool2D,
    BatchNorm1d,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    LogSoftmax,
    MaxPool2D,
    MeanSquaredError,
    MultiHeadAttention,
    ReLU,
    Residual,
    Sigmoid,
    SiLU,
    Softmax,
    SoftmaxCrossEntropy,
    Softplus,
    Tanh,
)
from netlib.gradcheck import GradcheckReport
from netlib.layers.activations import sigmoid
from netlib.layers.smooth_activations import normal_cdf
from netlib.layers.softmax import softmax


@dataclass(frozen=True)
class Mutant:
    """One wrong backward pass.

    Attributes
    ----------
    name : str
        Unique key, ``<entry>_<mistake>``.
    entry : str
        The registry entry it mutates.
    description : str
        The mistake, one line.
    symptom : str
        What goes wrong in the gradient, one line.
    wrong : type
        Subclass of the entry's netlib class with the wrong backward.
    slips_square_ones : bool
        Record: does it pass a finite-difference check run with every axis
        of the same size and an all-ones upstream gradient? (Confirmed by
        ``tests/test_mutants.py``.)
    """

    name: str
    entry: str
    description: str
    symptom: str
    wrong: type
    slips_square_ones: bool = False

    @property
    def derivation(self) -> Derivation:
        return get(self.entry)

    def make(self, values: dict):
        """The entry's layer built from ``values``, with this wrong backward."""
        layer = self.derivation.build(values)
        if not isinstance(layer, self.wrong.__mro__[1]):
            raise TypeError(f"mutant {self.name}: {self.wrong.__name__} must subclass the "
                            f"class entry {self.entry!r} builds, {type(layer).__name__}")
        layer.__class__ = self.wrong      # same attributes, wrong backward
        return layer

    def as_derivation(self) -> Derivation:
        """The entry with ``build`` replaced: what the registry checks see."""
        return dataclasses.replace(self.derivation, build=self.make)


# -- dense, row layout: x (batch, in), W (in, out) ------------------------------------

class DenseWeightGradientTransposed(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = g.T @ self._x        # swapped order: (out, in), the transpose
        return dx


class DenseInputGradientColumnFormula(Dense):
    def _backward(self, g):
        super()._backward(g)
        return self.params["W"] @ g.T          # W Gᵀ: the column-layout formula


class DenseBiasSummedOverFeatures(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.sum(axis=1)        # over the outputs instead of the batch
        return dx


class DenseBiasNotSummed(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.copy()             # one bias gradient per sample, never summed
        return dx


class DenseBiasAveraged(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.mean(axis=0)       # the loss already divided by the batch
        return dx


class DenseWeightGradientOverBatch(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = self._x.T @ g / len(g)   # 1/batch a second time
        return dx


class DenseWeightGradientNegated(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = -(self._x.T @ g)     # the descent step's sign, not the gradient's
        return dx


class DenseInputGradientFromUpdatedWeights(Dense):
    def _backward(self, g):
        x, W = self._x, self.params["W"]
        dW = x.T @ g
        self.grads["W"] = dW
        if "b" in self.params:
            self.grads["b"] = g.sum(axis=0)
        updated = W - 0.1 * dW                 # W after an SGD step, used too early
        return g @ updated.T


# -- dense, column layout: x (in, batch), W (out, in) ---------------------------------

class DenseColumnsWeightGradientRowFormula(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] = self._x @ g.T        # Xᵀ G transposed: (in, out)
        return dx


class DenseColumnsBiasSummedOverFeatures(Dense):
    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["b"] = g.sum(axis=0)        # over the outputs; the batch is axis 1 here
        return dx


class DenseColumnsInputGradientNotTransposedBack(Dense):
    def _backward(self, g):
        super()._backward(g)
        return g.T @ self.params["W"]          # (batch, in): the row-layout dx


# -- elementwise activations --------------------------------------------------------

class SigmoidDerivativeOfPreactivation(Sigmoid):
    def _backward(self, g):
        x = self._x
        return g * x * (1 - x)                 # y(1 - y) with x in place of y


class SigmoidDerivativeAppliedToOutput(Sigmoid):
    def _backward(self, g):
        s = sigmoid(self._y)                   # σ'(y) = σ(y)(1 - σ(y)): σ applied twice
        return g * s * (1 - s)


class ReLUMaskFromOutputGreaterEqual(ReLU):
    def _backward(self, g):
        return g * (self._y >= 0)              # y = max(x, 0) >= 0 always: no mask at all


class ReLUOutputAsDerivative(ReLU):
    def _backward(self, g):
        return g * self._y                     # the output itself instead of the 0/1 mask


class LeakyReLUSlopeNotTimesG(LeakyReLU):
    def _backward(self, g):
        return np.where(self._x > 0, g, self.alpha)    # alpha, not alpha * g


class TanhDerivativeNotSquared(Tanh):
    def _backward(self, g):
        return g * (1 - self._y)               # 1 - y instead of 1 - y²


class TanhDerivativeOfPreactivation(Tanh):
    def _backward(self, g):
        return g * (1 - self._x ** 2)          # 1 - x² with the input in place of the output


class SoftplusSigmoidOfNegative(Softplus):
    def _backward(self, g):
        return g * sigmoid(-self._x)           # sign slip in the exponent: σ(-x)


class IdentitySignFlipped(Identity):
    def _backward(self, g):
        return -g


# -- softmax and log-softmax (rows: features on axis 1) -----------------------------

class SoftmaxDiagonalOnly(Softmax):
    def _backward(self, g):
        y = self._y
        return g * y * (1 - y)                 # diag(y) - diag(y)²: off-diagonal -y_i y_j dropped


class SoftmaxSumOverBatch(Softmax):
    def _backward(self, g):
        y = self._y
        return y * (g - (g * y).sum(axis=0, keepdims=True))   # sum over samples, not classes


class LogSoftmaxWithoutSumOfG(LogSoftmax):
    def _backward(self, g):
        return g - np.exp(self._y)             # assumes sum(g) = 1 per sample


class LogSoftmaxSumOverBatch(LogSoftmax):
    def _backward(self, g):
        return g - np.exp(self._y) * g.sum(axis=0, keepdims=True)


# -- losses (rows; the base class multiplies the returned gradient by 1/N) ----------

class MSEWithoutHalf(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, 2 * diff                 # d/dŷ of ‖ŷ - y‖² with the ½ of L forgotten


class MSEWithoutMean(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, diff * len(pred)         # undoes the 1/N: the gradient of the sum


class MSESignFlipped(MeanSquaredError):
    def _value_and_grad(self, pred, target):
        value, diff = super()._value_and_grad(pred, target)
        return value, -diff                    # target - pred


class BCELogitsFormulaOnProbabilities(BinaryCrossEntropy):
    def _value_and_grad(self, pred, target):
        value, _ = super()._value_and_grad(pred, target)
        return value, pred - target            # p - t is dL/dz, not dL/dp


class BCELogitsWithoutSigmoid(BinaryCrossEntropyWithLogits):
    def _value_and_grad(self, z, target):
        value, _ = super()._value_and_grad(z, target)
        return value, z - target               # the logit used as a probability


class SoftmaxCrossEntropySignFlipped(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, grad = super()._value_and_grad(z, target)
        return value, -grad                    # t - softmax(z)


class SoftmaxCrossEntropyMeanTwice(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, grad = super()._value_and_grad(z, target)
        return value, grad / len(z)            # 1/N here and again in the base class


class SoftmaxCrossEntropySoftmaxOverBatch(SoftmaxCrossEntropy):
    def _value_and_grad(self, z, target):
        value, _ = super()._value_and_grad(z, target)
        if target.ndim == 1:                   # integer labels: their one-hot rows
            target = np.eye(z.shape[1], dtype=z.dtype)[target]
        return value, softmax(z, axis=0) - target      # normalised over samples


# -- new layers (normalisation, dropout, shape, conv, pooling, embedding, smooth
# activations, attention, residual): one realistic mistake each ----------------------

class LayerNormWithoutMeanTerms(LayerNorm):
    def _backward(self, g):
        super()._backward(g)
        return g * self.params["gamma"] * self._inv_std     # μ and σ treated as constants


class BatchNormWithoutMeanTerms(BatchNorm1d):
    def _backward(self, g):
        super()._backward(g)
        return g * self.params["gamma"] * self._inv_std     # the batch statistics as constants


class DropoutFreshMaskInBackward(Dropout):
    def _backward(self, g):
        keep = self.rng.random(g.shape) >= self.p           # a second draw: another mask
        return g * keep / (1 - self.p)


class FlattenUnflattenedColumnMajor(Flatten):
    def _backward(self, g):
        return g.reshape(self._x_shape, order="F")          # entries back in the wrong places


class Conv2DUnflippedKernel(Conv2D):
    def _backward(self, g):
        dx = super()._backward(g)
        W = self.params["W"]
        # Recompute dx with the kernel rotated by 180°: in the "full correlation
        # with the flipped kernel" view, this is correlating with the unflipped one.
        self.params["W"] = np.ascontiguousarray(W[:, :, ::-1, ::-1])
        try:
            dx = super()._backward(g)
        finally:
            self.params["W"] = W
        super()._backward(g)                                # dW, db from the true kernel
        return dx


class MaxPool2DArgmaxColumnMajor(MaxPool2D):
    def _backward(self, g):
        kh, kw = self.kernel_size
        offsets = self._offsets
        # The selected offset k unravelled column-major, (k % kh, k // kh): the
        # gradient lands on the transposed position of the window.
        self._offsets = [(k % kh, k // kh) for k in range(kh * kw)]
        try:
            return super()._backward(g)
        finally:
            self._offsets = offsets


class AvgPool2DNotDivided(AvgPool2D):
    def _backward(self, g):
        return super()._backward(g) * (self.kernel_size[0] * self.kernel_size[1])


class EmbeddingOverwritesRepeatedRows(EmbeddingForChecks):
    def backward(self, g):
        super().backward(g)
        dW = self.grads["W"]
        dW[...] = 0
        dW[self._indices.ravel()] = np.reshape(g, (-1, self.dim))   # last use wins
        return None


class GELUWithoutProductRule(GELU):
    def _backward(self, g):
        return g * normal_cdf(self._x)                      # the x·φ(x) term dropped


class SiLUSigmoidOnly(SiLU):
    def _backward(self, g):
        return g * sigmoid(self._x)                         # the derivative of x·σ(x) as σ(x)


class ELUOutputAsSlope(ELU):
    def _backward(self, g):
        x = self._x
        return np.where(x > 0, g, g * self.function(x))     # y instead of y + α = α eˣ


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


class ResidualSkipPathDropped(Residual):
    def _backward(self, g):
        return self.inner.backward(g)                       # only the inner path


#: The catalogue. ``slips_square_ones`` records the square/all-ones outcome.
MUTANTS: tuple[Mutant, ...] = (
    Mutant("dense_dW_transposed", "dense", "dW = Gᵀ X: product order swapped",
           "dW has W's transpose, shape (out, in)", DenseWeightGradientTransposed),
    Mutant("dense_dx_column_formula", "dense", "dx = W Gᵀ: the column-layout formula in "
           "row-layout code", "dx is transposed, shape (in, batch)",
           DenseInputGradientColumnFormula),
    Mutant("dense_db_wrong_axis", "dense", "db = G summed over the outputs (axis 1) instead "
           "of the batch", "db has one entry per sample", DenseBiasSummedOverFeatures,
           slips_square_ones=True),
    Mutant("dense_db_not_summed", "dense", "db = G: the bias gradient is not summed over "
           "the batch", "db has G's shape (batch, out)", DenseBiasNotSummed),
    Mutant("dense_db_averaged", "dense", "db = mean of G over the batch: 1/batch applied "
           "again", "db is 1/batch of the truth", DenseBiasAveraged),
    Mutant("dense_dW_over_batch", "dense", "dW = XᵀG / batch: 1/batch applied again",
           "dW is 1/batch of the truth", DenseWeightGradientOverBatch),
    Mutant("dense_dW_sign", "dense", "dW = -XᵀG: the update direction's sign",
           "dW points uphill; training diverges", DenseWeightGradientNegated),
    Mutant("dense_dx_updated_weights", "dense", "dx computed with W after the SGD step",
           "dx is off by -0.1 G (XᵀG)ᵀ", DenseInputGradientFromUpdatedWeights),
    Mutant("dense_columns_dW_row_formula", "dense_columns", "dW = X Gᵀ: the row-layout "
           "formula in column-layout code", "dW has shape (in, out), the transpose",
           DenseColumnsWeightGradientRowFormula),
    Mutant("dense_columns_db_wrong_axis", "dense_columns", "db = G summed over axis 0 (the "
           "outputs) instead of axis 1 (the batch)", "db has one entry per sample",
           DenseColumnsBiasSummedOverFeatures, slips_square_ones=True),
    Mutant("dense_columns_dx_not_transposed_back", "dense_columns", "dx = Gᵀ W: the "
           "transposed product never transposed back", "dx has shape (batch, in)",
           DenseColumnsInputGradientNotTransposedBack),
    Mutant("sigmoid_derivative_of_preactivation", "sigmoid", "σ' computed as x(1 - x) "
           "from the pre-activation", "wrong values everywhere, of either sign",
           SigmoidDerivativeOfPreactivation),
    Mutant("sigmoid_derivative_of_output", "sigmoid", "σ'(y) = σ(y)(1 - σ(y)) applied to "
           "the output y = σ(x)", "values near 0.2-0.25 instead of y(1 - y)",
           SigmoidDerivativeAppliedToOutput),
    Mutant("relu_mask_output_ge", "relu", "mask y >= 0 on the output: always true",
           "negative inputs pass their gradient", ReLUMaskFromOutputGreaterEqual),
    Mutant("relu_output_as_derivative", "relu", "G ⊙ y: the output used as the derivative",
           "positive inputs scaled by y instead of 1", ReLUOutputAsDerivative),
    Mutant("leaky_relu_slope_not_times_g", "leaky_relu", "alpha instead of alpha·G on the "
           "negative side", "negative inputs get a constant gradient",
           LeakyReLUSlopeNotTimesG, slips_square_ones=True),
    Mutant("tanh_derivative_not_squared", "tanh", "1 - y instead of 1 - y²",
           "wrong values, > 1 for negative y", TanhDerivativeNotSquared),
    Mutant("tanh_derivative_of_preactivation", "tanh", "1 - x² from the input instead of "
           "1 - y² from the output", "wrong values, negative for |x| > 1",
           TanhDerivativeOfPreactivation),
    Mutant("softplus_sigmoid_of_negative", "softplus", "σ(-x) instead of σ(x)",
           "mirror image: large where it should be small", SoftplusSigmoidOfNegative),
    Mutant("identity_sign", "identity", "-G: a sign error", "the gradient is negated",
           IdentitySignFlipped),
    Mutant("softmax_diagonal_only", "softmax", "only the diagonal y(1 - y) of the softmax "
           "Jacobian", "the coupling -y_i y_j between classes is lost", SoftmaxDiagonalOnly),
    Mutant("softmax_sum_over_batch", "softmax", "⟨g, y⟩ summed over the batch axis "
           "instead of the classes", "samples leak into each other", SoftmaxSumOverBatch),
    Mutant("log_softmax_without_sum_of_g", "log_softmax", "G - softmax(x): the factor Σ_k G_k "
           "dropped", "right only when G sums to 1 per sample", LogSoftmaxWithoutSumOfG),
    Mutant("log_softmax_sum_over_batch", "log_softmax", "Σ G taken over the batch axis "
           "instead of the classes", "samples leak into each other", LogSoftmaxSumOverBatch,
           slips_square_ones=True),
    Mutant("mse_without_half", "mse", "gradient 2(ŷ - y)/N for the loss with ½",
           "twice the truth", MSEWithoutHalf),
    Mutant("mse_without_mean", "mse", "gradient ŷ - y without 1/N", "batch size times the "
           "truth", MSEWithoutMean),
    Mutant("mse_sign", "mse", "gradient (y - ŷ)/N", "the gradient is negated", MSESignFlipped),
    Mutant("bce_logits_formula", "bce", "(p - t)/N, the gradient with respect to the logits, "
           "used for probabilities", "missing the 1/(p(1 - p)) factor",
           BCELogitsFormulaOnProbabilities),
    Mutant("bce_logits_without_sigmoid", "bce_logits", "(z - t)/N: the logit used as a "
           "probability", "grows without bound with |z|", BCELogitsWithoutSigmoid),
    Mutant("softmax_cross_entropy_sign", "softmax_cross_entropy", "(T - softmax(Z))/N",
           "the gradient is negated", SoftmaxCrossEntropySignFlipped),
    Mutant("softmax_cross_entropy_mean_twice", "softmax_cross_entropy", "(softmax(Z) - T)/N²: "
           "1/N applied twice", "1/batch of the truth", SoftmaxCrossEntropyMeanTwice),
    Mutant("softmax_cross_entropy_softmax_over_batch", "softmax_cross_entropy", "softmax "
           "taken over the batch axis", "probabilities normalised over samples",
           SoftmaxCrossEntropySoftmaxOverBatch),
    Mutant("layer_norm_without_mean_terms", "layer_norm", "dx = G γ / σ: μ and σ treated "
           "as constants", "misses the two mean-over-the-row terms", LayerNormWithoutMeanTerms),
    Mutant("batch_norm_without_mean_terms", "batch_norm", "dx = G γ / σ: the batch mean "
           "and variance treated as constants", "misses the two mean-over-the-batch terms",
           BatchNormWithoutMeanTerms),
    Mutant("dropout_fresh_mask_in_backward", "dropout", "a new mask drawn in backward",
           "gradient flows through entries the forward pass dropped",
           DropoutFreshMaskInBackward),
    Mutant("flatten_back_column_major", "flatten", "g reshaped back in column-major "
           "(Fortran) order", "gradients land on the wrong entries",
           FlattenUnflattenedColumnMajor, slips_square_ones=True),
    Mutant("conv2d_unflipped_kernel", "conv2d", "dx from the kernel without its 180° "
           "rotation (correlation with the unflipped kernel)", "dx mirrored within each "
           "window", Conv2DUnflippedKernel),
    Mutant("max_pool2d_argmax_column_major", "max_pool2d", "the selected window offset "
           "unravelled column-major", "g goes to the transposed position in the window",
           MaxPool2DArgmaxColumnMajor),
    Mutant("avg_pool2d_not_divided", "avg_pool2d", "g copied to the window without "
           "1/(kh kw)", "kh·kw times the truth", AvgPool2DNotDivided),
    Mutant("embedding_overwrite_repeated_rows", "embedding", "dW[t] = G: fancy assignment "
           "instead of np.add.at", "a repeated row keeps one use's gradient, not the sum",
           EmbeddingOverwritesRepeatedRows),
    Mutant("gelu_without_product_rule", "gelu", "dx = G Φ(x): the x φ(x) term dropped",
           "wrong slope, worst near |x| = 1", GELUWithoutProductRule),
    Mutant("silu_sigmoid_only", "silu", "dx = G σ(x): the product rule forgotten",
           "misses x σ(x)(1 - σ(x))", SiLUSigmoidOnly),
    Mutant("elu_output_as_slope", "elu", "y instead of y + α on the negative side",
           "negative slopes shifted by -α", ELUOutputAsSlope),
    Mutant("attention_key_gradient_not_transposed", "attention", "dK = dS Q instead of "
           "dSᵀ Q (S = Q Kᵀ)", "key gradients mixed across positions",
           AttentionKeyGradientNotTransposed),
    Mutant("residual_skip_path_dropped", "residual", "dx = f.backward(g): the skip path's "
           "g forgotten", "dx misses G", ResidualSkipPathDropped),
)

#: Changes that look like mistakes but are not: the checks rightly accept them.
NOT_MISTAKES: tuple[tuple[str, str], ...] = (
    ("ReLU mask from the output sign, y > 0", "y > 0 exactly when x > 0: the same mask"),
    ("ReLU mask x >= 0 instead of x > 0", "differs only at x = 0, where ReLU has no "
     "derivative and any value in [0, 1] is a valid subgradient"),
)


def mutant_names() -> list[str]:
    return [m.name for m in MUTANTS]


def get_mutant(name: str) -> Mutant:
    for mutant in MUTANTS:
        if mutant.name == name:
            return mutant
    raise KeyError(f"derivations.mutants: no mutant named {name!r}; known: "
                   f"{', '.join(mutant_names())}")


# -- the two checkers, on any registry entry (or a mutated one) ----------------------

# netlib_forward and finite_difference_check live in the verification engine
# (derivations.verify); they are imported above and used here under those names.

def symbolic_check(d: Derivation, shapes: dict, rng) -> bool:
    """True when netlib's (possibly mutated) backward matches the lambdified Jᵀg.

    :func:`derivations.verify.check_numeric` at one random point of ``shapes``
    (relative error at most ``NUMERIC_RTOL`` for every input).
    """
    return all(row.passed for row in check_numeric(d, shapes, np.random.default_rng(rng)))


def square_shapes(d: Derivation, size: int = 3) -> dict:
    """The entry's first shape set with every axis of length ``size``."""
    return {name: (size,) * len(shape) for name, shape in d.shape_sets[0].items()}


def square_ones_check(d: Derivation, rng=0) -> GradcheckReport:
    """The finite-difference check as it should *not* be run: square, all-ones g."""
    shapes = square_shapes(d)
    rng = np.random.default_rng(rng)
    values = sample_values(d, shapes, rng)
    y = netlib_forward(d, REGISTRY[d.name].build(values), values)
    return finite_difference_check(d, shapes, rng, upstream=np.ones(np.shape(y)),
                                   values=values)


# -- running the catalogue --------------------------------------------------------

@dataclass
class MutantResult:
    """How one mutant fared. ``caught_*`` hold at every shape set of the entry."""

    mutant: Mutant
    caught_by_finite_differences: bool
    caught_by_symbolic: bool
    slips_square_ones: bool
    hint: str
    report: str
    seconds: float


def run_mutant(mutant: Mutant, seed: int = 0) -> MutantResult:
    started = time.perf_counter()
    d = mutant.as_derivation()
    fd_caught, symbolic_caught, hint, text = True, True, "", ""
    for index, shapes in enumerate(d.shape_sets):
        report = finite_difference_check(d, shapes, seed + index)
        fd_caught &= not report.passed
        symbolic_caught &= not symbolic_check(d, shapes, seed + index)
        if not text:
            text = str(report)
            hint = "; ".join(f"{c.name}: {c.hint}" for c in report.failures() if c.hint)
    slips = square_ones_check(d, seed).passed
    return MutantResult(mutant, fd_caught, symbolic_caught, slips, hint, text,
                        time.perf_counter() - started)


def run_catalogue(seed: int = 0) -> list[MutantResult]:
    return [run_mutant(mutant, seed) for mutant in MUTANTS]


def false_alarms(seeds: int = 200, names=None) -> dict[str, int]:
    """Correct code checked at ``seeds`` random points per entry: rejections per checker.

    Each seed draws new values and a new upstream gradient; seeds alternate
    between the entry's shape sets.
    """
    counts = {"finite differences": 0, "symbolic": 0, "checks": 0}
    for name in names or REGISTRY:
        d = REGISTRY[name]
        for seed in range(seeds):
            shapes = d.shape_sets[seed % len(d.shape_sets)]
            counts["finite differences"] += not finite_difference_check(d, shapes, seed).passed
            counts["symbolic"] += not symbolic_check(d, shapes, seed)
            counts["checks"] += 1
    return counts


def kill_rates(results: list[MutantResult]) -> dict[str, float]:
    n = len(results)
    return {"finite differences": sum(r.caught_by_finite_differences for r in results) / n,
            "symbolic": sum(r.caught_by_symbolic for r in results) / n,
            "square shapes, all-ones g": sum(not r.slips_square_ones for r in results) / n}


def catalogue_table(seed: int = 0) -> list[dict]:
    """The catalogue as rows for the site's "Common mistakes" page.

    Every row is computed by running the checks now: ``mistake``, ``symptom``,
    ``entry``, ``caught_by`` (the checks that reject it), ``slips_square_ones``
    and ``hint`` (what the finite-difference checker prints).
    """
    rows = []
    for r in run_catalogue(seed):
        caught = [label for label, flag in (("finite differences",
                                             r.caught_by_finite_differences),
                                            ("symbolic", r.caught_by_symbolic)) if flag]
        rows.append({"name": r.mutant.name, "entry": r.mutant.entry,
                     "mistake": r.mutant.description, "symptom": r.mutant.symptom,
                     "caught_by": caught, "slips_square_ones": r.slips_square_ones,
                     "hint": r.hint})
    return rows
