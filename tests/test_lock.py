"""The lock agrees with pyproject.toml: nothing is added to the dependencies without re-locking.

``requirements/lock.txt`` is written by ``make lock`` (``uv pip compile
--generate-hashes``) from ``pyproject.toml`` and ``requirements/lock.in``; the
README's commands install only from it. This reads both files, with no network:

* every requirement of pyproject.toml (its dependencies, *every* extra, the
  build-system's requires) and of lock.in is pinned in the lock, at a version
  its specifier admits;
* the packages the lock says it took from pyproject.toml (or lock.in) are
  exactly those asked for there: a dependency that the lock has only because
  another package needs it, or that was removed, shows too;
* the lock was solved for the extras test, docs and bench, and every pin
  carries hashes;
* the Makefile installs the lock with ``--require-hashes`` and the project
  with ``--no-deps``, and nothing else.

:func:`disagreements` does the comparison on texts, so that the tests below can
also show it catching a dependency added to a copy of pyproject.toml.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, the lock's Python

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements" / "lock.txt"
LOCK_IN = ROOT / "requirements" / "lock.in"
LOCKED_EXTRAS = {"test", "docs", "bench"}
# Installed by hand for the benchmarks only (a plain "torch" pulls the CUDA build).
NEVER_LOCKED = {"torch"}

PYPROJECT_VIA = "netlib (pyproject.toml)"
LOCK_IN_VIA = "-r requirements/lock.in"


@dataclass
class Pin:
    name: str
    version: Version
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def parse_lock(text: str) -> tuple[str, dict[str, Pin]]:
    """The compile command of the lock's header, and its pins by canonical name."""
    header = re.search(r"^#\s+(uv pip compile .*)$", text, re.MULTILINE)
    command = header.group(1) if header else ""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if pin:
            current = Pin(canonicalize_name(pin.group(1)), Version(pin.group(2)))
            pins[current.name] = current
            in_via = False
        elif current is None:
            continue
        elif line.strip().startswith("--hash=sha256:"):
            current.hashes += 1
        elif re.match(r"^\s+# via (.+)$", line):
            current.via.append(line.split("# via ", 1)[1].strip())
        elif re.match(r"^\s+# via$", line):
            in_via = True
        elif in_via and re.match(r"^\s+#\s{3}", line):
            current.via.append(line.split("#", 1)[1].strip())
        else:
            in_via = False
    return command, pins


def pyproject_requirements(data: dict, extras: set[str] | None) -> list[Requirement]:
    """The project's dependencies and those of ``extras`` (all extras if None),
    self-references such as ``netlib[docs]`` expanded."""
    project = data["project"]
    name = canonicalize_name(project["name"])
    optional = project.get("optional-dependencies", {})
    wanted = set(optional) if extras is None else set(extras)
    requirements = [Requirement(r) for r in project.get("dependencies", [])]
    seen: set[str] = set()
    while wanted - seen:
        extra = sorted(wanted - seen)[0]
        seen.add(extra)
        for line in optional.get(extra, []):
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == name:
                wanted |= requirement.extras
            else:
                requirements.append(requirement)
    return requirements


def lock_in_requirements(text: str) -> list[Requirement]:
    return [Requirement(line.split("#", 1)[0].strip()) for line in text.splitlines()
            if line.split("#", 1)[0].strip()]


def disagreements(pyproject_text: str, lock_text: str, lock_in_text: str) -> list[str]:
    """Every way in which the lock no longer matches its inputs (empty: they agree)."""
    data = tomllib.loads(pyproject_text)
    command, pins = parse_lock(lock_text)
    problems: list[str] = []

    extras = set(re.findall(r"--extra[ =](\S+)", command))
    if not command:
        problems.append("the lock has no `uv pip compile` header: regenerate it with `make lock`")
    if extras != LOCKED_EXTRAS:
        problems.append(f"the lock was solved for the extras {sorted(extras)}, "
                        f"not {sorted(LOCKED_EXTRAS)}")

    from_pyproject = pyproject_requirements(data, None) + [
        Requirement(r) for r in data.get("build-system", {}).get("requires", [])]
    from_lock_in = lock_in_requirements(lock_in_text)
    for requirement in from_pyproject + from_lock_in:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is asked for but not in the lock: run `make lock`")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} is asked for but the lock pins "
                            f"{pin.name}=={pin.version}: run `make lock`")

    asked_pyproject = {canonicalize_name(r.name)
                       for r in pyproject_requirements(data, LOCKED_EXTRAS)}
    asked_lock_in = {canonicalize_name(r.name) for r in from_lock_in}
    for names, via, source in [(asked_pyproject, PYPROJECT_VIA, "pyproject.toml"),
                               (asked_lock_in, LOCK_IN_VIA, "lock.in")]:
        for name in sorted(names):
            pin = pins.get(name)
            if pin is not None and via not in pin.via:
                problems.append(f"{name} is asked for by {source}, but the lock has it only as "
                                f"a dependency of {', '.join(pin.via)}: run `make lock`")
    for pin in pins.values():
        if PYPROJECT_VIA in pin.via and pin.name not in asked_pyproject:
            problems.append(f"the lock took {pin.name} from pyproject.toml, which no longer asks "
                            "for it: run `make lock`")
        if LOCK_IN_VIA in pin.via and pin.name not in asked_lock_in:
            problems.append(f"the lock took {pin.name} from lock.in, which no longer asks for it: "
                            "run `make lock`")
        if pin.hashes == 0:
            problems.append(f"{pin.name}=={pin.version} has no hash in the lock")
        if pin.name in NEVER_LOCKED:
            problems.append(f"{pin.name} is in the lock; it is installed by hand (benchmarks)")
    return problems


def test_the_lock_agrees_with_pyproject():
    problems = disagreements(PYPROJECT.read_text(), LOCK.read_text(), LOCK_IN.read_text())
    assert problems == [], "\n".join(problems)


def test_the_lock_pins_the_environment():
    _, pins = parse_lock(LOCK.read_text())
    # the stack whose output the site prints, the installer and the build backend
    for name in ["numpy", "sympy", "sphinx", "myst-nb", "matplotlib", "pip", "setuptools"]:
        assert name in pins, name
    assert all(pin.hashes >= 1 for pin in pins.values())


def _edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize("edit, expected", [
    # a dependency added to an extra, or to the core, without re-locking
    (('"numpydoc>=1.6",', '"numpydoc>=1.6",\n    "added-without-relocking>=1",'),
     "added-without-relocking>=1 is asked for but not in the lock"),
    (('"tqdm>=4.60",', '"tqdm>=4.60",\n    "added-without-relocking",'),
     "added-without-relocking is asked for but not in the lock"),
    # a specifier the pinned version no longer meets
    (('"numpy>=1.24",', '"numpy>=99",'), "numpy>=99 is asked for but the lock pins"),
    # a dependency removed without re-locking
    (('    "threadpoolctl>=3.1",', ''), "took threadpoolctl from pyproject.toml"),
    # the build backend raised past the locked setuptools
    (('"setuptools>=77"', '"setuptools>=999"'), "setuptools>=999 is asked for"),
])
def test_a_changed_pyproject_without_relocking_is_caught(edit, expected):
    pyproject = _edited(PYPROJECT.read_text(), *edit)
    problems = disagreements(pyproject, LOCK.read_text(), LOCK_IN.read_text())
    assert any(expected in problem for problem in problems), problems


def test_a_dependency_added_that_the_lock_has_only_indirectly_is_caught():
    _, pins = parse_lock(LOCK.read_text())
    indirect = sorted(pin.name for pin in pins.values()
                      if PYPROJECT_VIA not in pin.via and LOCK_IN_VIA not in pin.via)
    assert indirect, "every pin comes straight from pyproject.toml?"
    pyproject = _edited(PYPROJECT.read_text(), '"tqdm>=4.60",',
                        f'"tqdm>=4.60",\n    "{indirect[0]}",')
    problems = disagreements(pyproject, LOCK.read_text(), LOCK_IN.read_text())
    assert any(f"{indirect[0]} is asked for by pyproject.toml" in problem
               for problem in problems), problems


def test_a_lock_without_hashes_or_for_other_extras_is_caught():
    lock = LOCK.read_text()
    unhashed = re.sub(r" \\\n\s+--hash=sha256:[0-9a-f]+", "", lock)
    problems = disagreements(PYPROJECT.read_text(), unhashed, LOCK_IN.read_text())
    assert any("has no hash" in problem for problem in problems), problems
    narrower = lock.replace(" --extra bench", "", 1)
    problems = disagreements(PYPROJECT.read_text(), narrower, LOCK_IN.read_text())
    assert any("extras" in problem for problem in problems), problems


@pytest.mark.parametrize("target", ["test", "docs", "browser-test"])
def test_make_installs_only_from_the_lock(target):
    """``make -n -B`` lists every command the target would run, the install steps included."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed; the README's commands need it")
    process = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    installs = [line for line in process.stdout.splitlines()
                if re.search(r"\bpip\b.* install", line)]
    assert any("--require-hashes -r requirements/lock.txt" in line for line in installs), installs
    for line in installs:
        assert "--require-hashes" in line or "--no-deps" in line, line


def test_npm_assets_when_there_are_any_are_locked_with_integrity():
    """The rule for the site's npm assets (none yet): a package-lock.json with an
    integrity hash for every package, installed by `npm ci`, never `npm install`."""
    package_json = ROOT / "package.json"
    if not package_json.exists():
        return  # no npm assets yet: nothing to lock
    lock_file = ROOT / "package-lock.json"
    assert lock_file.exists(), "package.json without package-lock.json: run `npm install` once"
    packages = json.loads(lock_file.read_text()).get("packages", {})
    missing = [path for path, entry in packages.items()
               if path and not entry.get("link") and "integrity" not in entry]
    assert missing == [], f"no integrity hash in package-lock.json for {missing}"
    makefile = (ROOT / "Makefile").read_text()
    assert "npm ci" in makefile and "npm install" not in makefile
