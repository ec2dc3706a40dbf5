"""The generators of the site's computed pages, without building the site.

* Layer pages point out, under the backward code, the lines that compute
  each term of the stated VJP (``netlib_site.term_lines``): for the dense
  layer in each layout the lines are those of that layout's products.
* The identities page gives each topic a heading and each identity an
  anchor of its own (``identities_page.render_identities``).
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))


def _lines_of(function, numbers):
    """The source lines ``numbers`` (1 = the ``def`` line) of ``function``, stripped."""
    source = textwrap.dedent(inspect.getsource(function)).splitlines()
    return [source[n - 1].strip() for n in numbers]


@pytest.mark.parametrize(("entry", "expected"), [
    ("dense", {"x": "g @ W.T", "W": "np.matmul(x.T, g", "b": "axis=0"}),
    ("dense_columns", {"x": "W.T @ g", "W": "np.matmul(g, x.T", "b": "axis=1"}),
])
def test_the_dense_code_points_out_its_layouts_terms(entry, expected):
    import netlib_site

    from derivations.registry import get

    d = get(entry)
    layer = netlib_site._sample_layer(d)
    backward = type(layer)._backward
    found = netlib_site.term_lines(backward, d.inputs, d.forward_arg, layer, returns=True)
    assert set(found) == set(d.inputs), found
    for name, text in expected.items():
        shown = _lines_of(backward, found[name])
        assert len(shown) == 1 and text in shown[0], f"{entry} d/d{name}: {shown}"


def test_every_argument_of_a_layer_page_has_its_lines():
    """Each registry entry's shown code marks a line for every argument it computes."""
    import netlib_site

    from derivations.registry import REGISTRY

    # Residual's gamma and beta belong to its inner layer, whose code is its own page's.
    expected_gaps = {"residual": {"gamma", "beta"}}
    missing = {}
    for name, d in REGISTRY.items():
        layer = netlib_site._sample_layer(d)
        covered = set()
        for names in (netlib_site.FORWARD_METHODS, netlib_site.BACKWARD_METHODS):
            klass, method = netlib_site.defining_class(d.netlib_class, names)
            covered |= set(netlib_site.term_lines(
                getattr(klass, method), d.inputs, d.forward_arg, layer,
                method in netlib_site.BACKWARD_METHODS, loss=d.kind == "loss"))
        gap = set(d.inputs) - covered
        if gap != expected_gaps.get(name, set()):
            missing[name] = sorted(gap)
    assert not missing, f"arguments whose lines the page does not point out: {missing}"


def _result(topic, expression, wrt="X"):
    return {"topic": topic, "expression": expression, "wrt": wrt, "source": "test",
            "passed": True, "failed_steps": [], "max_error": 1e-12, "comparisons": 4,
            "seconds": 0.1, "question": "q", "answers": [("stated", " $a$")],
            "chain": "rule", "sympy": {"verdict": "agrees", "answer": "", "error": 0.0,
                                       "question": "q"}}


def test_identity_topics_are_headings_and_identities_have_anchors():
    from identities_page import render_identities

    text = render_identities([_result("determinants", "logdet(X)"),
                              _result("traces", "tr(X)"),
                              _result("traces", "tr(X)"),          # the same question twice
                              _result("new topic", "X")])
    lines = text.splitlines()
    headings = [line for line in lines if line.startswith("## ")]
    # TOPIC_TITLES' order, the unknown topic last under its own name.
    assert headings == ["## Traces", "## Determinants and log-determinants (logdet)",
                        "## New topic"]
    targets = [line[1:-2] for line in lines if line.startswith("(identity-")]
    assert targets == ["identity-tr-x-by-x", "identity-tr-x-by-x-2",
                       "identity-logdet-x-by-x", "identity-x-by-x"]
    for target in targets:
        assert f'href="#{target}"' in text
