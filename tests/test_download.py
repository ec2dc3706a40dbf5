"""Downloads against a loopback HTTP server: checksums, mirrors, atomic writes.

No test here touches the network: a ``http.server`` on 127.0.0.1 serves files
from a temporary folder, in a thread that stops with the test.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

from netlib.data import DownloadError, download_dataset, download_file, load_mnist, write_idx
from netlib.data.datasets import IDX_FILES
from netlib.data.download import CHECKSUMS, MIRRORS, cache_dir


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, counts GET requests, writes no log lines."""

    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A loopback server of ``tmp_path / "site"``; yields (base URL, site folder, requests)."""
    site = tmp_path / "site"
    site.mkdir()
    requests: list[str] = []
    handler = type("Handler", (QuietHandler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler,
                                                                      directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", site, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def publish_fake_mnist(folder, rng=0):
    """Write the four gzip IDX files to ``folder``; return name -> SHA-256, and the arrays."""
    rng = np.random.default_rng(rng)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {"x_train": (9, 28, 28), "y_train": (9,), "x_test": (4, 28, 28), "y_test": (4,)}
    arrays, checksums = {}, {}
    for key, stem in IDX_FILES.items():
        arrays[key] = rng.integers(0, 10 if key[0] == "y" else 256, shapes[key], dtype=np.uint8)
        write_idx(folder / f"{stem}.gz", arrays[key])
        data = (folder / f"{stem}.gz").read_bytes()
        checksums[f"{stem}.gz"] = hashlib.sha256(data).hexdigest()
    return checksums, arrays


def leftovers(folder):
    return sorted(path.name for path in folder.rglob("*.part"))


def test_download_then_load_from_the_cache(server, tmp_path):
    base, site, requests = server
    checksums, arrays = publish_fake_mnist(site / "mnist")
    folder = download_dataset("mnist", cache=tmp_path / "cache", mirrors=[base + "mnist/"],
                              checksums=checksums, timeout=5)
    assert folder == tmp_path / "cache" / "mnist"
    assert len(requests) == 4
    for name, digest in checksums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert leftovers(tmp_path / "cache") == []
    data = load_mnist(folder)
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    np.testing.assert_allclose(data.x_train, arrays["x_train"].reshape(9, -1) / 255, rtol=1e-6)


def test_files_already_cached_are_not_fetched_again(server, tmp_path):
    base, site, requests = server
    checksums, _ = publish_fake_mnist(site)
    download_dataset("mnist", cache=tmp_path, mirrors=[base], checksums=checksums, timeout=5)
    assert len(requests) == 4
    download_dataset("mnist", cache=tmp_path, mirrors=[base], checksums=checksums, timeout=5)
    assert len(requests) == 4, f"a second call fetched again: {requests}"
    # A cached file whose bytes changed fails its hash and is fetched anew.
    damaged = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(b"not the file")
    download_dataset("mnist", cache=tmp_path, mirrors=[base], checksums=checksums, timeout=5)
    assert requests[4:] == ["/t10k-labels-idx1-ubyte.gz"]
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == checksums[damaged.name]


def test_the_next_mirror_is_tried_when_one_fails(server, tmp_path):
    base, site, requests = server
    checksums, _ = publish_fake_mnist(site / "good")
    download_dataset("mnist", cache=tmp_path, mirrors=[base + "missing/", base + "good/"],
                     checksums=checksums, timeout=5)
    assert sum(path.startswith("/missing/") for path in requests) == 4    # each one 404
    assert sum(path.startswith("/good/") for path in requests) == 4


def test_checksum_mismatch_keeps_no_file(server, tmp_path):
    base, site, _ = server
    checksums, _ = publish_fake_mnist(site)
    name = "train-labels-idx1-ubyte.gz"
    wrong = {name: "0" * 64}
    with pytest.raises(DownloadError, match="checksum mismatch") as caught:
        download_dataset("mnist", cache=tmp_path / "cache", mirrors=[base], checksums=wrong,
                         timeout=5)
    assert checksums[name] in str(caught.value), "the message should show the hash received"
    assert not (tmp_path / "cache" / "mnist" / name).exists()
    assert leftovers(tmp_path / "cache") == []


def test_oversized_response_is_cut_off_and_removed(server, tmp_path):
    base, site, _ = server
    (site / "big.bin").write_bytes(bytes(5000))
    target = tmp_path / "big.bin"
    with pytest.raises(DownloadError, match="more than max_bytes=1000"):
        download_file(base + "big.bin", target, "0" * 64, timeout=5, max_bytes=1000)
    assert not target.exists() and leftovers(tmp_path) == []


def test_download_file_accepts_only_http_urls(tmp_path):
    (tmp_path / "local").write_bytes(b"x")
    with pytest.raises(ValueError, match="expected an http or https URL"):
        download_file((tmp_path / "local").as_uri(), tmp_path / "copy", "0" * 64)


def test_unknown_dataset_name_is_refused():
    with pytest.raises(ValueError, match="download_dataset: expected a name from"):
        download_dataset("cifar-10")


def test_cache_dir_follows_netlib_data_then_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path / "data"))
    assert cache_dir() == tmp_path / "data"
    monkeypatch.delenv("NETLIB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "netlib"


def test_published_checksum_table_covers_the_four_files_of_each_dataset():
    stems = {stem + ".gz" for stem in IDX_FILES.values()}
    for name, table in CHECKSUMS.items():
        assert set(table) == stems, (name, sorted(table))
        assert all(len(value) == 64 and int(value, 16) >= 0 for value in table.values())
        assert MIRRORS[name], name
