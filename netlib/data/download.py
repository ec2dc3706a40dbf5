"""Optional download of MNIST and Fashion-MNIST, verified by SHA-256.

Nothing in netlib downloads on its own: :func:`download_dataset` is called by
the user. Each file is streamed into a temporary file *in the cache folder*,
hashed as it arrives, and only renamed to its final name (``os.replace``, atomic
on one file system) when its SHA-256 matches the published one. An interrupted
or corrupted download therefore never leaves a file under the real name, and
a file already in the cache with the right hash is not fetched again.

The checksums are the SHA-256 of the gzip files as their maintainers publish
them (the same values are pinned by TensorFlow Datasets). Debian's
``dataset-fashion-mnist`` package recompresses the files, so its ``.gz`` files
have other hashes but the same content; the loaders read them directly and
need no download.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

#: Base URLs tried in order; a file's URL is the base followed by its name.
#: (Not printed on the site: its pages reference no external host.)
#:
#: :meta hide-value:
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

#: Published SHA-256 of each gzip file.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

#: No file of these datasets is larger than 27 MB; a server sending more than
#: this is refused instead of filling the disk.
DEFAULT_MAX_BYTES = 64 * 2**20

_CHUNK = 1 << 16


class DownloadError(OSError):
    """A file could not be fetched from any mirror, or failed its checksum."""


def cache_dir() -> Path:
    """Where downloads go: ``$NETLIB_DATA`` if set, else ``~/.cache/netlib``.

    ``$XDG_CACHE_HOME`` replaces ``~/.cache`` when it is set. Each dataset gets
    a sub-folder named after it (``mnist``, ``fashion-mnist``), which is where
    the loaders of :mod:`netlib.data.datasets` look.
    """
    home = os.environ.get("NETLIB_DATA")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "netlib"


def sha256_of(path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url: str, destination, sha256: str, *, timeout: float = 30.0,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Fetch ``url`` to ``destination`` if and only if its SHA-256 is ``sha256``.

    The bytes go to a temporary file beside ``destination`` and are hashed as
    they arrive; on a match the file is renamed into place atomically, on any
    failure it is deleted and :class:`DownloadError` says what happened.
    Only ``http`` and ``https`` URLs are accepted.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"download_file: expected an http or https URL, got {url!r}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest, received = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part",
                                         dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    while chunk := response.read(_CHUNK):
                        received += len(chunk)
                        if received > max_bytes:
                            raise DownloadError(f"download_file: {url} sent more than "
                                                f"max_bytes={max_bytes} bytes; refused")
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                raise DownloadError(f"download_file: could not fetch {url}: {error}") from None
        if digest.hexdigest() != sha256.lower():
            raise DownloadError(f"download_file: checksum mismatch for {url}: expected SHA-256 "
                                f"{sha256.lower()}, got {digest.hexdigest()} "
                                f"({received} bytes); the file was not kept")
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def download_dataset(name: str, *, cache=None, mirrors=None, checksums=None,
                     timeout: float = 30.0, force: bool = False) -> Path:
    """Download the four files of ``"mnist"`` or ``"fashion-mnist"`` into the cache.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        Which dataset.
    cache : path, optional
        Cache folder (default :func:`cache_dir`); files go to ``cache/name``.
    mirrors : sequence of str, optional
        Base URLs to try in order (default ``MIRRORS[name]``).
    checksums : dict, optional
        File name to SHA-256 (default ``CHECKSUMS[name]``); these decide which
        files are fetched.
    timeout : float
        Seconds to wait for a server.
    force : bool
        Fetch even files already cached with the right hash.

    Returns
    -------
    pathlib.Path
        The folder holding the files; pass it as ``path=`` to the loader, or
        rely on the loader looking in the cache.
    """
    if name not in MIRRORS and (mirrors is None or checksums is None):
        raise ValueError(f"download_dataset: expected a name from {sorted(MIRRORS)} (or "
                         f"both mirrors= and checksums=), got {name!r}")
    mirrors = tuple(MIRRORS[name] if mirrors is None else mirrors)
    checksums = CHECKSUMS[name] if checksums is None else checksums
    folder = Path(cache_dir() if cache is None else cache).expanduser() / name
    for filename, sha256 in checksums.items():
        target = folder / filename
        if not force and target.is_file() and sha256_of(target) == sha256.lower():
            continue
        failures = []
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            try:
                download_file(url + filename, target, sha256, timeout=timeout)
                break
            except DownloadError as error:
                failures.append(str(error))
        else:
            raise DownloadError(f"download_dataset({name!r}): every mirror failed for "
                                f"{filename}:\n  " + "\n  ".join(failures))
    return folder
