"""The computed parts of the identities page, written before Sphinx reads it.

``docs/reference/identities.md`` is prose; what it shows as checked is
included from four files this module writes into
``docs/reference/_identities/`` (generated, git-ignored) at every build:

* ``identities.md.txt``: every identity of
  :data:`derivations.matrix_calculus.identities.IDENTITIES`, checked here
  (:func:`check_identity`, ``derive --steps``), under one heading per topic,
  each with an anchor a reader can link to;
* ``cookbook.md.txt``: how the Cookbook's equation numbers were verified, and
  what of its chapter 2 is left out and why (from the Cookbook data modules);
* ``errata.md.txt``: the Cookbook identities found wrong;
* ``sympy.md.txt``: the questions SymPy's own matrix calculus gets wrong.

Why not a notebook cell: MyST-NB turns headings in a cell's output into
plain bold lines, so the topics could be neither in the page's table of
contents nor in the search index by their names (a search for "logdet"
found nothing). Files included by ``{include}`` are parsed as the page's own
Markdown, headings and targets included.

The checks run in worker processes (the same pool as the registry's), one
task per identity, and are stored under the source digest like the layer
checks, so a build whose code did not change reuses them. A failing identity
fails the build.
"""

from __future__ import annotations

import re

#: The heading of each topic of ``IDENTITIES``, in the words a reader searches
#: for (logdet, trace, inverse, Hadamard, Kronecker), in the page's order: the
#: simplest questions first. A topic missing here is still shown, last, under
#: its own name.
TOPIC_TITLES = {
    "forms": "Linear and quadratic forms",
    "traces": "Traces",
    "inverses": "Inverses",
    "determinants": "Determinants and log-determinants (logdet)",
    "eigenvalues": "Eigenvalues: their sum and their product",
    "norms": "Norms",
    "elementwise": "Elementwise functions and Hadamard products",
    "softmax": "Softmax, log-softmax and log-sum-exp",
    "products": "Matrix products as vector-Jacobian products",
    "kronecker": "Kronecker products and vec",
}

#: Questions in the SymPy table up to this many characters of LaTeX are typeset;
#: longer ones are shown as code, which wraps.
SHORT_QUESTION = 60
#: Answers up to this many characters of LaTeX are inline, up to LONG_LATEX
#: on a line of their own, longer ones folded away (wider than the column).
SHORT_LATEX, LONG_LATEX = 40, 170


def identity_work(index: int) -> dict:
    """Check identity ``index`` and render its block (runs in a worker process)."""
    from derivations.matrix_calculus.identities import IDENTITIES, check_identity
    from derivations.matrix_calculus.steps import derivation_steps
    from derivations.matrix_calculus.sympy_compare import sympy_verdict

    identity = IDENTITIES[index]
    r = check_identity(identity)
    steps = derivation_steps(identity.expression, identity.wrt, identity.shapes)
    failed_steps = [s.rule for s in steps if not s.check.passed]
    chain = " → ".join(s.rule.split(":")[0].split(" (")[0] for s in steps[1:])
    verdict = sympy_verdict(r.problem)
    # Printed knowing the shapes: a product with a 1×1 part is a product, not ⊙.
    latex = r.problem.latex
    question = rf"\dfrac{{\partial}}{{\partial {identity.wrt}}}\, {latex(r.problem.expr)}"
    answers = [("stated", _shown(latex, r.stated, "stated")),
               ("derive, denominator layout", _shown(latex, r.derived, "denominator layout"))]
    if r.problem.is_scalar:
        answers.append(("numerator layout", _shown(latex, r.numerator, "numerator layout")))
    else:
        answers.append(("numerator layout", " a VJP, the same as the denominator layout"))
    return {
        "topic": identity.topic, "expression": identity.expression, "wrt": identity.wrt,
        "source": identity.source, "passed": r.passed and not failed_steps,
        "failed_steps": failed_steps, "max_error": float(r.max_error),
        "comparisons": len(r.derived_checks) + len(r.stated_checks),
        "seconds": r.seconds, "question": question, "answers": answers, "chain": chain,
        "sympy": {"verdict": verdict.verdict, "answer": verdict.answer,
                  "error": float(verdict.error), "question": latex(r.problem.expr)},
    }


def errata_work() -> list[dict]:
    """The Cookbook's identities found wrong, each refuted again now."""
    from derivations.matrix_calculus.cookbook import ERRATA
    from derivations.matrix_calculus.identities import Identity, check_identity

    rows = []
    for citation, expression, wrt, stated, shapes in ERRATA:
        refuted = check_identity(Identity("errata", expression, wrt, stated, citation, shapes))
        rows.append({"citation": citation, "expression": expression, "wrt": wrt,
                     "stated": stated, "holds": all(c.passed for c in refuted.stated_checks),
                     "error": max(float(c.error) for c in refuted.stated_checks)})
    return rows


def _shown(latex, answer, what: str) -> str:
    """An answer: short ones inline, others on their own line; a sum too wide
    for one line is split at its terms, one term per line, and only what
    still does not fit (a single term too wide) is folded away.

    ``latex`` prints an answer's tree knowing the question's shapes."""
    from sitekit import fold

    text = latex(answer)
    if len(text) <= SHORT_LATEX:
        return f" ${text}$"
    if len(text) <= LONG_LATEX:
        return f"\n\n$$\n{text}\n$$\n"
    lines = [("-" if negative else "+", latex(term)) for negative, term in _terms(answer)]
    if len(lines) > 1 and all(len(line) <= LONG_LATEX for _, line in lines):
        first_sign, first = lines[0]
        rows = [f"& {'-' if first_sign == '-' else ''}{first}"]
        rows += [f"& {{}} {sign} {line}" for sign, line in lines[1:]]
        body = " \\\\\n".join(rows)
        return f"\n\n$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$\n"
    return "\n\n" + fold(f"{what}: a long expression ({len(text)} characters of LaTeX), "
                          "shown on request", f"$$\n{text}\n$$") + "\n"


def _terms(node, negative: bool = False) -> list:
    """The top-level terms of a sum as ``(negative, term)``, left to right."""
    from derivations.matrix_calculus.expr import Binary, Neg

    if isinstance(node, Binary) and node.op in "+-":
        return _terms(node.left, negative) + _terms(node.right, negative != (node.op == "-"))
    if isinstance(node, Neg):
        return _terms(node.arg, not negative)
    return [(negative, node)]


def anchor(expression: str, wrt: str) -> str:
    """The identity's link target: ``tr(A @ X @ B)`` by ``X`` -> ``identity-tr-a-x-b-by-x``."""
    words = re.findall(r"[A-Za-z0-9_]+", f"{expression} by {wrt}")
    return "identity-" + "-".join(words).lower().replace("_", "-")


def topic_anchor(topic: str) -> str:
    return "identities-" + re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")


def render_identities(results: list[dict]) -> str:
    """The identities under one heading per topic: TOPIC_TITLES' order, then any other."""
    found: dict[str, list[int]] = {}
    for number, r in enumerate(results):
        found.setdefault(r["topic"], []).append(number)
    order = [t for t in TOPIC_TITLES if t in found] + [t for t in found if t not in TOPIC_TITLES]
    topics = {t: found[t] for t in order}
    total = sum(r["comparisons"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    confirmed = sum(r["passed"] for r in results)
    groups = " · ".join(f"[{TOPIC_TITLES.get(t, t.capitalize())}](#{topic_anchor(t)})"
                        for t in topics)
    lines = [f"**{len(results)} identities, {confirmed} confirmed** ({total} comparisons, "
             f"{seconds:.0f} s of checking while this page was built). Groups: {groups}.", ""]
    used: set[str] = set()
    number = 0
    for topic, members in topics.items():
        title = TOPIC_TITLES.get(topic, topic.capitalize())
        lines += [f"({topic_anchor(topic)})=", f"## {title}", ""]
        for index in members:
            number += 1
            r = results[index]
            name = anchor(r["expression"], r["wrt"])
            while name in used:
                name += "-2"
            used.add(name)
            verdict = "passed" if r["passed"] else "FAILED"
            # The permalink is raw HTML: a MyST link to a target that is not a
            # heading would be resolved as a cross-reference with a title.
            # A container per identity: the target's id lands on it, and the
            # CSS draws a rule between identities.
            lines += [f"({name})=", ":::{container} netlib-identity",
                      f"**{number}.** `{r['expression']}` by `{r['wrt']}` &nbsp;·&nbsp; "
                      f"{r['source']} &nbsp;·&nbsp; check: {verdict}, max error "
                      f"{r['max_error']:.0e} "
                      f'<a class="headerlink" href="#{name}" title="Link to this identity">#</a>',
                      "", f"$$\n{r['question']}\n$$", ""]
            for label, text in r["answers"]:
                lines += [f"{label}:{text}", ""]
            lines += [f"steps: {r['chain']}", ":::", ""]
    return "\n".join(lines)


def render_errata(rows: list[dict], cited: int) -> str:
    from sitekit import markdown_table

    text = (f"**{cited} identities cite the Cookbook** and all were confirmed above. "
            "**Errata:** ")
    if not rows:
        return text + ("none: no Cookbook identity checked here was found wrong (a wrong "
                       "one would be listed with the error that refutes it).")
    table = [[row["citation"], f"`{row['expression']}` d/d{row['wrt']}", f"`{row['stated']}`",
              f"{row['error']:.1e}"] for row in rows]
    return (text + "each corrected form is an entry above, marked \"corrected\"; the "
            "printed ones are refuted at every build:\n\n"
            + markdown_table(["equation", "question", "the Cookbook's answer", "error"], table))


def render_sympy(results: list[dict]) -> str:
    from sitekit import markdown_table

    rows = []
    for r in results:
        v = r["sympy"]
        if v["verdict"] == "agrees":
            continue
        answer = v["answer"] if len(v["answer"]) <= 70 else v["answer"][:67] + "..."
        detail = (f" (error {v['error']:.1e})"
                  if v["verdict"] == "wrong" and v["error"] == v["error"] else "")
        # A long formula cannot wrap and would widen the table past the
        # column; the question as derive reads it (code) wraps.
        question = (f"${v['question']}$" if len(v["question"]) <= SHORT_QUESTION
                    else f"`{r['expression']}`")
        rows.append([question, f"${r['wrt']}$", f"`{answer}`", f"{v['verdict']}{detail}"])
    agree = sum(r["sympy"]["verdict"] == "agrees" for r in results)
    return (f"SymPy agrees with the explicit Jacobian on **{agree} of {len(results)}** "
            "questions; the others:\n\n"
            + markdown_table(["expression", "with respect to", "SymPy's answer", "verdict"],
                             rows))


def failures(results: list[dict], errata: list[dict]) -> list[str]:
    """Why the page must not be built: identities that failed, errata that hold."""
    found = [f"identity {r['expression']} by {r['wrt']} ({r['source']}): max error "
             f"{r['max_error']:.1e}" + (f", steps {r['failed_steps']}" if r["failed_steps"]
                                        else "")
             for r in results if not r["passed"]]
    found += [f"erratum {row['citation']} holds after all" for row in errata if row["holds"]]
    return found


def write_pages(folder, results: list[dict], errata: list[dict], write) -> None:
    """Write the four include files with ``write(path, text)``."""
    from derivations.matrix_calculus import cookbook

    folder.mkdir(parents=True, exist_ok=True)
    cited = sum(r["source"].startswith("Cookbook") for r in results)
    header = "<!-- generated by docs/_ext/identities_page.py: do not edit -->\n\n"
    write(folder / "identities.md.txt", header + render_identities(results))
    write(folder / "cookbook.md.txt", header + cookbook.numbers_markdown() + "\n\n"
          + cookbook.left_out_markdown() + "\n")
    write(folder / "errata.md.txt", header + render_errata(errata, cited) + "\n")
    write(folder / "sympy.md.txt", header + render_sympy(results) + "\n")
