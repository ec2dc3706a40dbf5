"""Sphinx configuration of the netlib site.

Sources live in ``docs/``; build with ``make docs`` (which runs
``sphinx -j 2 -W --keep-going -T -b html -c . docs _build/html``).

Every MyST-NB page is executed during the build and a failing cell fails it.
Executed notebooks are cached by jupyter-cache in ``.jupyter_cache``; the
cache is keyed on the code of a page, so ``docs/_ext/netlib_site.py`` also
clears it whenever a source file of ``netlib/``, ``derivations/``,
``examples/`` or ``docs/_ext/``, or the stored seed E data, changes
(otherwise a cached page would show results of code or data that are gone).
The per-layer pages in ``docs/layers/`` are written from the registry by the
same extension before Sphinx reads the sources.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The library and the derivations are imported from this checkout (autodoc,
# the page generator and the executed pages all see the same code).
# The executed pages run in a kernel started by this process: PYTHONPATH
# hands it the same two folders (pages import ``sitekit`` from docs/_ext).
for folder in (ROOT / "docs" / "_ext", ROOT):
    sys.path.insert(0, str(folder))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), str(ROOT / "docs" / "_ext"), *filter(None, [os.environ.get("PYTHONPATH")])])

project = "netlib"
author = "the netlib authors"
copyright = "2026, the netlib authors"
release = version = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "netlib_site",
]

exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "**/README.md"]
# .rst first: autosummary writes its generated pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"

# -- MyST / MyST-NB ------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3

nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / ".jupyter_cache")
nb_execution_raise_on_error = True      # a failing cell fails the build
nb_execution_show_tb = True             # ...and prints its traceback
nb_execution_timeout = 300
nb_execution_in_temp = False
nb_merge_streams = True
# Markdown outputs of cells (the computed tables) are parsed as MyST, which
# has tables; CommonMark has none.
nb_render_markdown_format = "myst"
# The ipywidgets loader would pull require.js and the widget manager from a
# CDN; no page uses widgets.
nb_ipywidgets_js = {}

# -- API reference ---------------------------------------------------------------
# autosummary writes one page per module of netlib and derivations into
# docs/reference/_api (generated, git-ignored), so a new module is documented
# without anyone editing a page.
autosummary_generate = True
autosummary_imported_members = False
# autosummary imports every submodule it lists; importing ``__main__`` would
# run the command line. Mocked modules are left out of the listing.
autosummary_mock_imports = ["derivations.__main__"]
# A package's ``__all__`` re-exports classes documented in their own modules.
autodoc_default_options = {"members": True, "show-inheritance": True,
                           "ignore-module-all": True}
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# -- HTML ------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "netlib: backpropagation, derived and verified"
# MathJax 3 is served from the built site (_static/mathjax), not from a CDN,
# so math renders offline and no page references another host. The files
# come from the PyPI package sphinx-mathjax-offline (the `docs` extra); we
# use its files and not its Sphinx hook, which is not declared safe for
# parallel builds.
_mathjax_spec = importlib.util.find_spec("sphinx-mathjax-offline")
if _mathjax_spec is None or not _mathjax_spec.submodule_search_locations:
    raise RuntimeError("conf.py: the package sphinx-mathjax-offline is missing; "
                       "install the docs extra: pip install -e '.[docs]'")
# Only what the pages load is shipped (the whole package is 24 MB): the
# combined component tex-chtml.js (TeX input with its base packages, CommonHTML
# output, the menu), the CommonHTML fonts, and the TeX extensions its
# autoloader fetches when a page uses them (\boldsymbol, \cancel, ...).
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def _lean_mathjax(package: Path, target: Path) -> Path:
    """Copy ``MATHJAX_FILES`` of ``package`` to ``target/mathjax``; return ``target``."""
    import shutil

    stamp = target / "mathjax" / ".copied-from"
    if stamp.exists() and stamp.read_text() == str(package):
        return target
    shutil.rmtree(target, ignore_errors=True)
    for name in MATHJAX_FILES:
        source, destination = package / name, target / "mathjax" / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    stamp.write_text(str(package))
    return target


_mathjax_lean = _lean_mathjax(
    Path(_mathjax_spec.submodule_search_locations[0]) / "static" / "mathjax",
    ROOT / ".cache" / "mathjax-lean")
html_static_path = [str(_mathjax_lean), "docs/_static"]
# The Python that the "Ask a question" widget runs in the reader's browser
# (Pyodide, the SymPy and mpmath wheels, a wheel of the engine): gathered by
# `make browser-assets` (tools/browser_assets.py), which `make docs` runs
# first. A build without it still works; the widget then says what is missing.
_browser_assets = ROOT / ".cache" / "browser-assets"
if _browser_assets.is_dir():
    html_static_path.append(str(_browser_assets))
html_css_files = ["netlib.css", "ask/ask.css"]
# ask.js does nothing on a page without the widget; deferred, it runs after parsing.
html_js_files = ["netlib.js", ("ask/ask.js", {"defer": "defer"})]
mathjax_path = "mathjax/tex-chtml.js"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
}
html_last_updated_fmt = None
html_copy_source = False
