"""Behaviour of the newer layers that the registry-wide gradient checks do not cover.

The generic checks (exact, symbolic vs numeric, finite differences, mutants)
run over every registry entry elsewhere. Here: what is particular to a layer
- dropout's mask, batch norm's running statistics, embedding's repeated
indices, max pooling's ties, convolution against a plain loop, the numpy erf,
causal masking, more than one attention head, the two stated forms of the
convolution's input gradient - and the error messages for bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from derivations import verify
from derivations.layers import conv as conv_entries
from derivations.layers import conv_geometry
from netlib import (
    ELU,
    GELU,
    AvgPool2D,
    BatchNorm1d,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    MaxPool2D,
    MultiHeadAttention,
    Residual,
    SiLU,
    Tanh,
)
from netlib.gradcheck import check_layer
from netlib.layers.smooth_activations import erf, erfc


def close(actual, expected, rtol, what):
    """assert_allclose with both arrays printed side by side on failure."""
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0,
                               err_msg=f"{what}\nactual:   {np.ravel(actual)}\n"
                                       f"expected: {np.ravel(expected)}")


# -- dropout -------------------------------------------------------------------------

def test_dropout_backward_reuses_the_forward_mask():
    layer = Dropout(0.3, rng=1)
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=(5, 7))    # no zeros in x
    y = layer.forward(x)
    kept = y != 0
    g = np.random.default_rng(2).standard_normal(y.shape)
    dx = layer.backward(g)
    # Dropped entries get no gradient, kept ones g / (1 - p): the same mask as y.
    assert np.array_equal(dx != 0, kept), f"mask of dx:\n{dx != 0}\nmask of y:\n{kept}"
    close(dx[kept], g[kept] / 0.7, 1e-15, "kept entries: g / (1 - p)")
    close(y[kept], x[kept] / 0.7, 1e-15, "kept entries of y: x / (1 - p)")


def test_dropout_is_the_identity_at_inference_and_draws_nothing():
    layer = Dropout(0.5, rng=3).train(False)
    x = np.random.default_rng(0).standard_normal((4, 6))
    state = layer.rng.bit_generator.state
    assert np.array_equal(layer.forward(x), x)
    g = np.random.default_rng(1).standard_normal((4, 6))
    assert np.array_equal(layer.backward(g), g)
    assert layer.mask is None
    assert layer.rng.bit_generator.state == state, "inference consumed randomness"


def test_dropout_same_seed_same_masks_and_fresh_mask_per_forward():
    x = np.ones((50, 40))
    a, b = Dropout(0.25, rng=9), Dropout(0.25, rng=9)
    first_a, first_b = a.forward(x), b.forward(x)
    assert np.array_equal(first_a, first_b)
    assert not np.array_equal(a.forward(x), first_a), "a second forward reused the mask"
    # Inverted dropout keeps the mean: 2000 entries, each 0 or 4/3.
    assert abs(first_a.mean() - 1.0) < 0.1, first_a.mean()


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match=r"Dropout: expected a drop probability p in \[0, 1\)"):
        Dropout(p)


# -- batch norm ----------------------------------------------------------------------

def test_batch_norm_running_statistics_and_inference_mode():
    rng = np.random.default_rng(0)
    layer = BatchNorm1d(3, momentum=0.2, eps=1e-3)
    layer.params["gamma"][...] = [0.5, 2.0, -1.0]
    layer.params["beta"][...] = [0.1, 0.0, 3.0]
    x = rng.normal(2.0, 3.0, size=(6, 3))
    layer.forward(x)
    # Running mean: 0.8·0 + 0.2·mean; running var: 0.8·1 + 0.2·(unbiased variance).
    close(layer.running_mean, 0.2 * x.mean(axis=0), 1e-14, "running mean")
    close(layer.running_var, 0.8 + 0.2 * x.var(axis=0, ddof=1), 1e-14, "running var")

    layer.train(False)
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    x_new = rng.normal(size=(4, 3))
    y = layer.forward(x_new)
    expected = layer.params["gamma"] * (x_new - mean) / np.sqrt(var + 1e-3) + layer.params["beta"]
    close(y, expected, 1e-14, "inference output from the running statistics")
    g = rng.standard_normal(y.shape)
    close(layer.backward(g), g * layer.params["gamma"] / np.sqrt(var + 1e-3), 1e-14,
          "inference VJP: a fixed affine map")
    assert np.array_equal(layer.running_mean, mean) and np.array_equal(layer.running_var, var)


def test_batch_norm_inference_mode_passes_the_gradient_check():
    layer = BatchNorm1d(4)
    layer.forward(np.random.default_rng(0).normal(size=(8, 4)))     # some running statistics
    layer.train(False)
    report = check_layer(layer, (3, 4), rng=1, mode="full")
    assert report.passed, str(report)


def test_batch_norm_needs_two_samples_in_training():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\): expected a batch of at least 2"):
        BatchNorm1d(2).forward(np.ones((1, 2)))
    assert BatchNorm1d(2).train(False).forward(np.ones((1, 2))).shape == (1, 2)


# -- embedding -----------------------------------------------------------------------

def test_embedding_accumulates_repeated_indices():
    rng = np.random.default_rng(0)
    layer = Embedding(6, 3, rng=rng)
    indices = np.array([[5, 1, 5], [5, 0, 1]])
    y = layer.forward(indices)
    close(y, layer.params["W"][indices], 0, "lookup")
    g = rng.standard_normal(y.shape)
    assert layer.backward(g) is None
    # Sᵀ G with the one-hot selection matrix S, built independently.
    S = np.eye(6)[indices.ravel()]
    close(layer.grads["W"], S.T @ g.reshape(-1, 3), 1e-15, "dW = Sᵀ G")
    assert np.all(layer.grads["W"][[2, 3, 4]] == 0), "rows never looked up get 0"


def test_embedding_refuses_float_and_out_of_range_indices():
    layer = Embedding(4, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"Embedding\(4, 2\): expected integer indices, "
                                        r"got dtype float64"):
        layer.forward(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected indices in \[0, 4\), got 1 out of range"):
        layer.forward(np.array([0, 4]))


# -- pooling -------------------------------------------------------------------------

def test_max_pool_ties_go_to_the_first_entry_only():
    x = np.array([[[[2.0, 2.0, 1.0, 5.0],
                    [2.0, 0.0, 5.0, 5.0]]]])
    pool = MaxPool2D(2)
    assert np.array_equal(pool.forward(x), [[[[2.0, 5.0]]]])
    dx = pool.backward(np.array([[[[10.0, 20.0]]]]))
    expected = np.array([[[[10.0, 0.0, 0.0, 20.0],
                           [0.0, 0.0, 0.0, 0.0]]]])
    assert np.array_equal(dx, expected), f"dx:\n{dx[0, 0]}\nexpected:\n{expected[0, 0]}"


def _pool_reference(x, kernel, stride, reduce):
    """Plain loops over every output position (the test's reference, not netlib's way)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for index in np.ndindex(n, c, oh, ow):
        a, b, i, j = index
        y[index] = reduce(x[a, b, sh * i:sh * i + kh, sw * j:sw * j + kw])
    return y


@pytest.mark.parametrize("kernel, stride", [((2, 2), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (1, 1))])
def test_pooling_forward_matches_loops(kernel, stride):
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))
    close(MaxPool2D(kernel, stride).forward(x), _pool_reference(x, kernel, stride, np.max),
          1e-15, "max pool")
    close(AvgPool2D(kernel, stride).forward(x), _pool_reference(x, kernel, stride, np.mean),
          1e-14, "avg pool")


@pytest.mark.parametrize("layer", [MaxPool2D((2, 3), (1, 2)), AvgPool2D(3, 2)],
                         ids=["max", "avg"])
def test_pooling_overlapping_windows_pass_the_gradient_check(layer):
    report = check_layer(layer, (2, 2, 5, 6), rng=0, mode="full")
    assert report.passed, str(report)


def test_pooling_rejects_small_inputs():
    with pytest.raises(ValueError, match=r"MaxPool2D\(kernel_size=\(3, 3\), stride=\(3, 3\)\): "
                                         r"expected height and width at least"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(ValueError, match=r"expected x with 4 dimensions"):
        AvgPool2D(2).forward(np.zeros((4, 4)))


# -- convolution ---------------------------------------------------------------------

def _conv_reference(x, W, b, stride, padding):
    """The definition with loops over every output entry, and its VJP by the same loops."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    o, _, kh, kw = W.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for a, k, i, j in np.ndindex(n, o, oh, ow):
        y[a, k, i, j] = b[k] + np.sum(W[k] * xp[a, :, sh * i:sh * i + kh, sw * j:sw * j + kw])

    def vjp(g):
        dxp, dW = np.zeros_like(xp), np.zeros_like(W)
        for a, k, i, j in np.ndindex(n, o, oh, ow):
            window = (a, slice(None), slice(sh * i, sh * i + kh), slice(sw * j, sw * j + kw))
            dxp[window] += g[a, k, i, j] * W[k]
            dW[k] += g[a, k, i, j] * xp[window]
        return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dW, g.sum(axis=(0, 2, 3))

    return y, vjp


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((1, 2, 4, 5), (3, 2, 2, 3), (1, 1), (0, 0)),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0)),
    ((3, 1, 5, 5), (2, 1, 3, 3), (2, 2), (1, 1)),
    ((1, 2, 6, 9), (2, 2, 1, 4), (3, 2), (0, 2)),
])
def test_conv2d_matches_loops(shape, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(shape), rng.standard_normal(kernel)
    b = rng.standard_normal(kernel[0])
    layer = Conv2D.from_params(W, b, stride=stride, padding=padding)
    y = layer.forward(x)
    y_ref, vjp = _conv_reference(x, W, b, stride, padding)
    close(y, y_ref, 1e-12, "conv forward")
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)
    dx_ref, dW_ref, db_ref = vjp(g)
    close(dx, dx_ref, 1e-12, "conv dx")
    close(layer.grads["W"], dW_ref, 1e-12, "conv dW")
    close(layer.grads["b"], db_ref, 1e-12, "conv db")


def test_conv2d_keeps_float32():
    layer = Conv2D(2, 3, 3, padding=1, rng=np.random.default_rng(0), dtype=np.float32)
    y = layer.forward(np.ones((2, 2, 5, 5), dtype=np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones(y.shape, dtype=np.float32)).dtype == np.float32


def test_conv2d_errors_name_the_layer_and_the_shapes():
    layer = Conv2D(3, 4, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Conv2D\(3, 4, kernel_size=\(3, 3\).*expected x of "
                                         r"shape \(batch, 3, height, width\) \(NCHW\), got "
                                         r"shape \(2, 5, 5, 3\)"):
        layer.forward(np.zeros((2, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"expected a padded input at least as large as the "
                                         r"kernel"):
        layer.forward(np.zeros((1, 3, 2, 8)))
    with pytest.raises(ValueError, match=r"Conv2D: expected stride as an integer >= 1"):
        Conv2D(1, 1, 3, stride=0)


@pytest.mark.parametrize("entry", [conv_entries.CONV2D, conv_entries.CONV2D_STRIDED],
                         ids=lambda d: d.name)
@pytest.mark.parametrize("form", [conv_geometry.flipped_kernel_dx,
                                  conv_geometry.im2col_transpose_dx],
                         ids=["flipped kernel", "im2col transpose"])
def test_conv2d_input_gradient_both_stated_forms_are_exact(entry, form):
    """Each entry states one form; both equal reshape(Jᵀ vec G) at every shape set."""
    geometry = conv_geometry.PLAIN if entry is conv_entries.CONV2D else conv_geometry.STRIDED
    for shapes in entry.shape_sets:
        symbols = entry.symbols(shapes)
        G = entry.upstream_symbol(shapes)
        stated = form(G, symbols, geometry.of_symbols(symbols))
        derived = verify.derived_vjp(entry, "x", shapes)
        residual = (stated - derived).applyfunc(sympy.expand)
        assert residual == sympy.zeros(*derived.shape), (
            f"{entry.name} at {shapes}: {form.__name__} differs from Jᵀ vec G\n"
            f"stated:  {stated}\nderived: {derived}")


def test_conv2d_unflipped_kernel_is_not_the_gradient():
    """The check above can fail: correlating with the unflipped kernel is wrong."""
    entry, case = conv_entries.CONV2D, conv_geometry.PLAIN.cases[0]
    shapes = case.shapes()
    symbols = entry.symbols(shapes)
    unflipped = dict(symbols)
    W = symbols["W"]
    kh, kw = case.kernel[2:]
    # W rotated by 180° in each (o, c) slice, so that "flipping" it restores W.
    unflipped["W"] = sympy.Matrix(W.rows, W.cols, lambda r, v: W[r - r % kh + kh - 1 - r % kh,
                                                                 kw - 1 - v])
    wrong = conv_geometry.flipped_kernel_dx(entry.upstream_symbol(shapes), unflipped, case)
    residual = (wrong - verify.derived_vjp(entry, "x", shapes)).applyfunc(sympy.expand)
    assert residual != sympy.zeros(*residual.shape)


# -- smooth activations --------------------------------------------------------------

def test_erf_and_erfc_match_math_to_1e14():
    z = np.concatenate([np.linspace(-8, 8, 4001), [0.0, 1.2, -1.2, 1e-8, -3e-5, 26.0]])
    expected_erfc = np.array([math.erfc(v) for v in z])
    expected_erf = np.array([math.erf(v) for v in z])
    rel = np.abs(erfc(z) - expected_erfc) / expected_erfc
    assert rel.max() < 1e-14, f"worst erfc at z = {z[rel.argmax()]}: {rel.max():.2e}"
    assert np.max(np.abs(erf(z) - expected_erf)) < 2e-16 * 8, "erf absolute error"


def test_gelu_exact_matches_math_erf_and_the_tanh_form_is_close():
    x = np.linspace(-6, 6, 241)
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    close(GELU().forward(x[None]), expected[None], 1e-14, "exact GELU")
    gap = np.abs(GELU("tanh").forward(x[None]) - expected[None]).max()
    assert 1e-5 < gap < 5e-4, f"tanh approximation off by {gap:.2e}"


@pytest.mark.parametrize("layer", [GELU(), GELU("tanh"), SiLU(), ELU(0.5)],
                         ids=lambda layer: layer.describe())
def test_smooth_activations_keep_float32(layer):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones((3, 4), dtype=np.float32)).dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match=r"GELU: expected approximate 'none' or 'tanh', "
                                         r"got 'fast'"):
        GELU("fast")


# -- layer norm, flatten -------------------------------------------------------------

def test_layer_norm_over_the_last_axis_of_3d_input():
    layer = LayerNorm(4)
    layer.params["gamma"][...] = [1.0, 2.0, 0.5, -1.0]
    report = check_layer(layer, (2, 3, 4), rng=0, mode="full")
    assert report.passed, str(report)
    with pytest.raises(ValueError, match=r"LayerNorm\(4\): expected x of shape \(\.\.\., 4\), "
                                         r"got shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3)))


def test_flatten_returns_a_copy_and_refuses_1d():
    x = np.arange(24.0).reshape(2, 3, 4)
    y = Flatten().forward(x)
    x[0, 0, 0] = 100.0
    assert y[0, 0] == 0.0
    with pytest.raises(ValueError, match=r"Flatten: expected x with at least 2 dimensions"):
        Flatten().forward(np.zeros(3))


# -- attention, residual -------------------------------------------------------------

def test_causal_attention_ignores_later_positions():
    layer = MultiHeadAttention(4, num_heads=2, causal=True, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 5, 4))
    y = layer.forward(x)
    changed = x.copy()
    changed[:, 3:] += 10.0                             # only positions 3 and 4
    y_changed = layer.forward(changed)
    close(y_changed[:, :3], y[:, :3], 1e-14, "positions 0-2 must not see 3-4")
    assert not np.allclose(y_changed[:, 3:], y[:, 3:])


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_passes_the_gradient_check(causal):
    """The registry derives one head; several heads are checked here numerically."""
    layer = MultiHeadAttention(4, num_heads=2, d_head=3, causal=causal,
                               rng=np.random.default_rng(2))
    for name in ("bq", "bv", "bo"):
        layer.params[name][...] = np.random.default_rng(3).normal(size=layer.params[name].shape)
    report = check_layer(layer, (2, 3, 4), rng=0, mode="full")
    assert report.passed, str(report)
    assert [c.name for c in report.checks] == ["x", "Wq", "Wk", "Wv", "Wo", "bq", "bv", "bo"]


def test_attention_errors():
    layer = MultiHeadAttention(4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(4, num_heads=1, d_head=4\): "
                                         r"expected x of shape \(batch, seq, 4\)"):
        layer.forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"expected all three biases \(bq, bv, bo\) or none"):
        MultiHeadAttention.from_params(np.eye(2), np.eye(2), np.eye(2), np.eye(2),
                                       bq=np.zeros(2))
    with pytest.raises(ValueError, match=r"expected num_heads <= d_model .* got num_heads 4 "
                                         r"> d_model 2"):
        MultiHeadAttention(2, num_heads=4)
    with pytest.raises(ValueError, match=r"from_params: expected Wq with 2 dimensions"):
        MultiHeadAttention.from_params(np.ones(3), np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"from_params: expected num_heads to be a positive "
                                         r"integer, got 0"):
        MultiHeadAttention.from_params(np.eye(2), np.eye(2), np.eye(2), np.eye(2), num_heads=0)
    # The weight initialiser shared with Dense names the layer that called it.
    with pytest.raises(ValueError, match=r"^Conv2D: expected init 'he', 'xavier' or 'normal'"):
        Conv2D(1, 1, 3, init="foo")


def test_residual_shares_parameters_and_mode_with_the_inner_layer():
    inner = Dropout(0.5, rng=0)
    block = Residual(inner).train(False)
    assert inner.training is False
    dense = Dense(3, 3, rng=np.random.default_rng(0))
    block = Residual(dense)
    assert block.params is dense.params and block.grads is dense.grads
    report = check_layer(Residual(Tanh()), (2, 3), rng=0, mode="full")
    assert report.passed, str(report)
    with pytest.raises(ValueError, match=r"Residual\(Dense\(3, 2\)\): expected the inner layer "
                                         r"to keep the input shape \(4, 3\)"):
        Residual(Dense(3, 2, rng=np.random.default_rng(0))).forward(np.zeros((4, 3)))


class _MaxPoolToEveryTiedEntry(MaxPool2D):
    """The mistake: every entry equal to the window's maximum receives g."""

    def _backward(self, g):
        dx = np.zeros(self._x_shape, dtype=g.dtype)
        best = self.forward(self._x_for_test)
        for offset in self._offsets:
            entry = self._entry(self._x_for_test, offset)
            self._entry(dx, offset)[...] += np.where(entry == best, g, 0)
        return dx


def test_max_pool_tie_rule_is_the_derivations_rule():
    """At a tie finite differences are meaningless (no derivative); the derived
    Jacobian's first-maximum Piecewise decides, and rejects routing to every tie."""
    from derivations.layers.pooling import MAX_CASES
    from derivations.registry import get

    d = get("max_pool2d")
    shapes = d.shape_sets[0]
    case = MAX_CASES.cases[0]               # x (1, 2, 4, 5), window (2, 3), stride (2, 1)
    assert shapes["x"] == case.x and case.kernel == (2, 3) and case.stride == (2, 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shapes["x"])
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, :2, :3].max() + 1.0    # a two-way tie
    x[0, 1, 2, 2] = x[0, 1, 3, 4] = x[0, 1, 2:, 2:].max() + 1.0    # and a diagonal one
    J = verify.jacobian_function(d, "x", shapes)({"x": x})
    g = rng.standard_normal(d.output_shape(shapes))
    expected = (J.T @ g.ravel()).reshape(x.shape)
    right = MaxPool2D(case.kernel, stride=case.stride)
    g4 = g.reshape(right.forward(x).shape)
    close(right.backward(g4), expected, 1e-15, "netlib at a tie vs the derived Jacobian")
    wrong = _MaxPoolToEveryTiedEntry(case.kernel, stride=case.stride)
    wrong._x_for_test = x
    wrong.forward(x)
    assert not np.allclose(wrong.backward(g4), expected), "routing to every tie slipped through"
