"""The built site's search finds the identities by the words a reader types.

Sphinx indexes the words of section titles separately (``titleterms``) and
lists every title with its anchor (``alltitles``); a search result for a
title word links to that section. The identities page gives each group of
identities a heading (``docs/_ext/identities_page.py``), so a search for
"logdet" or "Kronecker" lands on the identities themselves.

Marked ``browser`` like the other tests of a built site: ``make test``
deselects it, ``make browser-test`` runs it after ``make docs``. The site is
``_build/html``, or the folder named by ``NETLIB_SITE``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("NETLIB_SITE", ROOT / "_build" / "html"))
IDENTITIES = "reference/identities"
#: What a reader looking up an identity searches for.
WORDS = ("logdet", "trace", "inverse", "Hadamard", "Kronecker", "determinant")


@pytest.fixture(scope="module")
def index() -> dict:
    path = SITE / "searchindex.js"
    if not path.exists():
        pytest.fail(f"no search index at {path}: build the site first (make docs)")
    text = path.read_text(encoding="utf-8")
    # Search.setIndex({...}): the argument is JSON.
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def _documents(entry) -> set[int]:
    if entry is None:
        return set()
    return {entry} if isinstance(entry, int) else set(entry)


@pytest.mark.browser
@pytest.mark.parametrize("word", WORDS)
def test_search_finds_the_identities_by_a_heading(index, word):
    import snowballstemmer

    page = index["docnames"].index(IDENTITIES)
    # The stemmer Sphinx's English indexer uses (sphinx.search.en).
    stem = snowballstemmer.stemmer("english").stemWord(word.lower())
    title_words = sorted(t for t, d in index["titleterms"].items() if page in _documents(d))
    assert page in _documents(index["titleterms"].get(stem)), (
        f"{word!r} (stem {stem!r}) is not a title word of {IDENTITIES}: {title_words}")
    sections = [(title, anchor) for title, places in index["alltitles"].items()
                if word.lower() in title.lower()
                for document, anchor in places if document == page]
    assert sections and all(anchor for _, anchor in sections), (
        f"no heading with an anchor on {IDENTITIES} says {word!r}: {sections}")


@pytest.mark.browser
def test_every_identity_has_an_anchor():
    """Each identity is a block with an id a reader can link to, and a visible link to it."""
    import re

    html = (SITE / f"{IDENTITIES}.html").read_text(encoding="utf-8")
    ids = re.findall(r'id="(identity-[a-z0-9-]+)"', html)
    links = set(re.findall(r'href="#(identity-[a-z0-9-]+)"', html))
    # The page's own count (the site may predate the identities in this checkout).
    count = int(re.search(r"<strong>(\d+) identities, \d+ confirmed</strong>", html)[1])
    assert len(ids) == len(set(ids)) == count, (len(ids), len(set(ids)), count)
    assert set(ids) == links, sorted(set(ids) ^ links)[:10]
