"""check_against (issue 17): any entry at the user's shapes and hyperparameters,
g in the layer's output shape, integer indices, clear errors, and the user-side
mutants caught both symbolically and by finite differences."""

import numpy as np
import pytest

from derivations.registry import get
from derivations.user_check import (
    USER_MUTANTS,
    attention_backward,
    check_against,
    finite_difference_check_of,
    hyperparameters,
)
from derivations.verify import netlib_vjp


def netlib_backward(entry, seen=None):
    d = get(entry)

    def backward(g, **values):
        if seen is not None:
            seen.append((np.shape(g), {k: np.asarray(v).dtype.kind for k, v in values.items()}))
        return netlib_vjp(d, values, g)
    return backward


def test_g_arrives_in_the_layers_output_shape_and_indices_as_integers():
    seen = []
    assert check_against("conv2d", netlib_backward("conv2d", seen)).passed
    assert seen[0][0] == (1, 3, 3, 3), seen                 # NCHW, not SymPy's (9, 3)
    seen.clear()
    assert check_against("embedding", netlib_backward("embedding", seen)).passed
    assert all(kinds["indices"] == "i" for _, kinds in seen), seen
    seen.clear()
    assert check_against("attention", netlib_backward("attention", seen)).passed
    assert seen[0][0] == (1, 2, 3), seen                    # (batch, seq, d_model)


def test_every_attention_shape_set_has_a_head_wider_than_one():
    # With d_h = 1 the scale 1/sqrt(d_h) is 1, and a backward without it passes.
    for entry in ("attention", "attention_causal"):
        assert all(sh["Wq"][1] > 1 for sh in get(entry).shape_sets), entry


@pytest.mark.parametrize("entry", ["conv2d", "conv2d_strided", "max_pool2d", "avg_pool2d",
                                   "flatten", "attention"])
def test_shapes_the_entry_cannot_take_get_a_clear_error(entry):
    d = get(entry)
    shapes = {name: (2,) * len(shape) for name, shape in d.shape_sets[0].items()}
    shapes["x"] = (1, 1, 7, 7) if len(d.shape_sets[0]["x"]) == 4 else (1, 5, 7)
    with pytest.raises(ValueError, match=f"'{entry}' cannot be derived at shapes .*Its shape"):
        check_against(entry, netlib_backward(entry), shapes=shapes)
    with pytest.raises(ValueError, match=r"expected shapes for \[.*missing"):
        check_against(entry, netlib_backward(entry), shapes={"y": (2, 3)})


def test_user_shapes_work_where_the_entry_allows_them():
    report = check_against("dense", netlib_backward("dense"),
                           shapes={"x": (5, 2), "W": (2, 3), "b": (3,)})
    assert report.passed and len(report.checks) == 3
    assert check_against("flatten", netlib_backward("flatten"),
                         shapes=get("flatten").shape_sets[1]).passed


def leaky(alpha):
    return lambda g, x: {"x": g * np.where(x > 0, 1.0, alpha)}


def test_hyperparameters_are_exposed_and_overridable():
    assert hyperparameters("leaky_relu") == {"alpha": 0.2}
    assert hyperparameters("elu") == {"alpha": 0.7}
    assert hyperparameters("layer_norm") == {"eps": 0.01}
    assert hyperparameters("dropout")["p"] == 0.4
    # netlib's default slope 0.01 in the user's code: wrong at the entry's 0.2 ...
    assert not check_against("leaky_relu", leaky(0.01)).passed
    # ... right at the user's own value, and still wrong at another.
    report = check_against("leaky_relu", leaky(0.01), hyper={"alpha": 0.01})
    assert report.passed and "alpha = 0.01" in report.what, str(report)
    assert not check_against("leaky_relu", leaky(0.2), hyper={"alpha": 0.01}).passed

    def elu(alpha):
        return lambda g, x: {"x": g * np.where(x > 0, 1.0, alpha * np.exp(x))}

    assert check_against("elu", elu(1.0), hyper={"alpha": 1.0}).passed
    assert not check_against("elu", elu(0.7), hyper={"alpha": 1.0}).passed
    for entry in ("layer_norm", "batch_norm", "rms_norm"):
        assert check_against(entry, netlib_backward(entry), hyper={"eps": 1e-5}).passed
    assert check_against("dropout", lambda g, x, mask: {"x": g * mask}, hyper={"p": 0.25}).passed
    # Back to the entry's own values afterwards.
    assert check_against("leaky_relu", leaky(0.2)).passed


def test_bad_hyperparameters_get_clear_errors():
    with pytest.raises(KeyError, match="'beta' is not a hyperparameter of 'leaky_relu'"):
        check_against("leaky_relu", leaky(0.2), hyper={"beta": 1})
    with pytest.raises(TypeError, match="expected hyper 'alpha' as a finite number"):
        check_against("leaky_relu", leaky(0.2), hyper={"alpha": "big"})
    with pytest.raises(ValueError, match="fixed by its shape sets"):
        check_against("conv2d", netlib_backward("conv2d"), hyper={"stride, padding": 2})


def test_correct_user_attention_passes_both_checks():
    assert check_against("attention", attention_backward).passed
    assert finite_difference_check_of("attention", attention_backward).passed


@pytest.mark.parametrize("entry, wrong", USER_MUTANTS, ids=[w.__name__ for _, w in USER_MUTANTS])
def test_user_side_mutants_are_caught_symbolically_and_numerically(entry, wrong):
    assert not check_against(entry, wrong).passed
    report = finite_difference_check_of(entry, wrong)
    assert not report.passed, str(report)


def test_unknown_key_is_named_in_check_against():
    report = check_against("dense", lambda g, x, W, b: {"x": g @ W.T, "dW": x.T @ g,
                                                        "b": g.sum(axis=0)})
    assert "unknown key 'dW'" in report["W"].hint, str(report)
