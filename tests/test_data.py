"""The IDX reader, the dataset loaders, the split and the one-hot helper.

Malformed IDX files are written byte by byte here, so each test states exactly
which promise of the header is broken; the reader must refuse each with a
``ValueError`` naming the problem, and must not allocate what a forged header
claims (checked with ``tracemalloc``, which sees numpy's and Python's buffers).
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from netlib.data import (
    Dataset,
    load_digits,
    load_fashion_mnist,
    load_image_dataset,
    load_mnist,
    make_synthetic,
    one_hot,
    read_idx,
    train_validation_split,
    write_idx,
)
from netlib.data.datasets import DEBIAN_FASHION_MNIST, IDX_FILES

IDX_TEST_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def idx_header(type_code: int, shape: tuple[int, ...]) -> bytes:
    """The header bytes of an IDX file, written out from the format's definition."""
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", n) for n in shape)


def store(path, payload: bytes, compress: bool):
    if compress:
        path.write_bytes(gzip.compress(payload, mtime=0))
    else:
        path.write_bytes(payload)
    return path


# -- reading well-formed files ---------------------------------------------------

@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", IDX_TEST_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)], ids=str)
def test_write_then_read_returns_the_same_array(tmp_path, dtype, shape, compress):
    rng = np.random.default_rng(0)
    original = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    write_idx(path, original)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype).newbyteorder("="), (back.dtype, dtype)
    assert back.shape == shape
    np.testing.assert_array_equal(back, original)


def test_reader_follows_the_big_endian_format_byte_by_byte(tmp_path):
    # Written by hand, not by write_idx: int16 values 1 and 258 (0x0102) in
    # big-endian order, so a reader that ignored byte order would get 256, 513.
    path = tmp_path / "hand.idx"
    path.write_bytes(idx_header(0x0B, (2,)) + b"\x00\x01\x01\x02")
    np.testing.assert_array_equal(read_idx(path), np.array([1, 258], dtype=np.int16))


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = store(tmp_path / "no-extension", idx_header(0x08, (2, 2)) + bytes([1, 2, 3, 4]),
                 compress=True)
    np.testing.assert_array_equal(read_idx(path), [[1, 2], [3, 4]])


# -- refusing malformed files -------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(("payload", "message"), [
    pytest.param(b"", "expected 4 bytes of magic", id="empty"),
    pytest.param(b"PK\x03\x04" + bytes(20), "not an IDX file", id="wrong-magic-zip"),
    pytest.param(b"\x00\x01\x08\x01" + bytes(8), "not an IDX file", id="nonzero-magic-byte"),
    pytest.param(b"\x00\x00\x07\x01" + bytes(8), "not an IDX file", id="unknown-type-code"),
    pytest.param(b"\x00\x00\x08\x00" + bytes(8), "got 0", id="zero-dimensions"),
    pytest.param(b"\x00\x00\x08\x03\x00\x00\x00\x02", "dimension sizes", id="truncated-header"),
    pytest.param(idx_header(0x08, (10, 28, 28)) + bytes(10 * 28 * 28 - 1),
                 "truncated IDX file", id="truncated-body-by-one"),
    pytest.param(idx_header(0x0C, (5,)) + bytes(5 * 4 + 1), "over-long IDX file",
                 id="trailing-byte"),
    pytest.param(idx_header(0x08, (2**32 - 1,) * 3), "overflows", id="dimension-product-overflow"),
    pytest.param(idx_header(0x08, (10**6, 10**6)) + bytes(100), "refusing to allocate",
                 id="claims-1e12-items"),
])
def test_malformed_idx_raises_a_clear_value_error(tmp_path, payload, message, compress):
    path = store(tmp_path / "bad.idx", payload, compress)
    with pytest.raises(ValueError, match=message) as caught:
        read_idx(path)
    assert "bad.idx" in str(caught.value), f"the message should name the file: {caught.value}"


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_a_forged_size_is_never_allocated_even_under_a_huge_limit(tmp_path, compress):
    # With max_bytes raised to 1 PiB the header's 10**12 bytes pass the limit,
    # so only the reader's comparison with the real data can stop it.
    path = store(tmp_path / "forged.idx", idx_header(0x08, (10**6, 10**6)) + bytes(1000),
                 compress)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="truncated IDX file"):
            read_idx(path, max_bytes=2**50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"reading a forged header allocated {peak} bytes at its peak"


def test_gzip_with_a_wrong_checksum_raises_value_error(tmp_path):
    good = gzip.compress(idx_header(0x08, (1000,)) + bytes(range(250)) * 4, mtime=0)
    # The gzip trailer is CRC-32 then size; flipping the CRC leaves the data
    # readable, so only the reader's check of the whole stream can notice.
    damaged = good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:]
    path = tmp_path / "bad-crc.idx.gz"
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match="corrupt or truncated gzip stream"):
        read_idx(path)


def test_gzip_with_damaged_data_raises_value_error(tmp_path):
    good = gzip.compress(idx_header(0x08, (1000,)) + bytes(range(250)) * 4, mtime=0)
    damaged = good[:20] + bytes(b ^ 0xFF for b in good[20:40]) + good[40:]
    path = tmp_path / "damaged.idx.gz"
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match=r"damaged\.idx\.gz"):
        read_idx(path)


def test_gzip_cut_short_raises_value_error(tmp_path):
    good = gzip.compress(idx_header(0x08, (5000,)) + np.arange(5000).astype(np.uint8).tobytes())
    path = tmp_path / "cut.idx.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_write_idx_refuses_dtypes_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="write_idx: expected an array of dtype"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.complex64))


# -- loaders ---------------------------------------------------------------------------

def write_fake_mnist(folder, n_train=12, n_test=5, compress=True, rng=0):
    """Four IDX files in the MNIST layout with random 0..255 pixels and labels."""
    rng = np.random.default_rng(rng)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, stem in IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if compress else "")), arrays[key])
    return arrays


def check_matches_files(data: Dataset, arrays: dict):
    for split in ("train", "test"):
        images = arrays[f"x_{split}"]
        x = getattr(data, f"x_{split}")
        assert x.shape == (len(images), 28 * 28)
        np.testing.assert_allclose(x, images.reshape(len(images), -1) / 255, rtol=1e-6)
        np.testing.assert_array_equal(getattr(data, f"y_{split}"), arrays[f"y_{split}"])


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_load_mnist_from_a_given_folder(tmp_path, compress):
    arrays = write_fake_mnist(tmp_path / "mine", compress=compress)
    data = load_mnist(tmp_path / "mine")
    assert data.name == "mnist" and data.image_shape == (28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    check_matches_files(data, arrays)


def test_load_mnist_from_netlib_data(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path / "mnist", rng=3)
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path))
    data = load_mnist(dtype=np.float64)
    assert data.x_train.dtype == np.float64
    check_matches_files(data, arrays)


def test_netlib_data_takes_precedence_over_debian_for_fashion_mnist(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path / "fashion-mnist", n_train=7, n_test=3)
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path))
    data = load_fashion_mnist()
    assert data.source == str(tmp_path / "fashion-mnist")
    check_matches_files(data, arrays)


def test_missing_files_name_every_folder_tried(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte") as caught:
        load_mnist()
    assert str(tmp_path / "mnist") in str(caught.value)
    assert "download_dataset" in str(caught.value)


def test_images_and_labels_of_different_lengths_are_refused(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(ValueError, match="expected train images"):
        load_mnist(tmp_path)


def test_best_available_dataset_says_which_it_returned(tmp_path, monkeypatch):
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path))     # empty: no MNIST here
    data = load_image_dataset(("mnist", "digits"))
    assert data.name == "digits"
    write_fake_mnist(tmp_path / "mnist")
    assert load_image_dataset(("mnist", "digits")).name == "mnist"
    with pytest.raises(ValueError, match="expected names from"):
        load_image_dataset(("cifar",))


def test_no_dataset_available_lists_the_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv("NETLIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist: load mnist"):
        load_image_dataset(("mnist",))


def test_debian_fashion_mnist_has_the_published_shape_and_balance(monkeypatch):
    monkeypatch.delenv("NETLIB_DATA", raising=False)
    data = load_fashion_mnist(DEBIAN_FASHION_MNIST)
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert data.x_train.dtype == np.float32
    assert 0 <= data.x_train.min() and data.x_train.max() <= 1
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    np.testing.assert_array_equal(np.bincount(data.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [1000] * 10)
    assert data.classes[9] == "Ankle boot"


def test_load_digits_is_a_seeded_split_of_all_1797_images():
    a, b = load_digits(rng=0), load_digits(rng=0)
    assert len(a.x_train) + len(a.x_test) == 1797 and a.n_features == 64
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_train.max() <= 1 and a.x_train.min() >= 0


def test_make_synthetic_is_seeded_balanced_and_separable_by_class():
    a = make_synthetic(300, 60, n_features=6, n_classes=3, spread=0.1, rng=5)
    b = make_synthetic(300, 60, n_features=6, n_classes=3, spread=0.1, rng=5)
    c = make_synthetic(300, 60, n_features=6, n_classes=3, spread=0.1, rng=6)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert np.bincount(np.concatenate([a.y_train, a.y_test])).tolist() == [120, 120, 120]
    # With a small spread the nearest class mean recovers every label.
    means = np.stack([a.x_train[a.y_train == k].mean(axis=0) for k in range(3)])
    nearest = ((a.x_test[:, None, :] - means) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(nearest, a.y_test)
    with pytest.raises(ValueError, match="make_synthetic: expected n_classes"):
        make_synthetic(n_classes=0)


# -- split and one-hot ---------------------------------------------------------------------

@pytest.mark.parametrize("validation", [0.2, 7], ids=["fraction", "count"])
def test_split_is_a_partition_of_the_samples(validation):
    x = np.arange(70).reshape(35, 2)
    y = np.arange(35)
    (xt, yt), (xv, yv) = train_validation_split(x, y, validation, rng=1)
    assert len(yv) == 7 and len(yt) == 28
    assert sorted(np.concatenate([yt, yv]).tolist()) == list(range(35))
    np.testing.assert_array_equal(xt[:, 0], 2 * yt)      # rows stay with their labels
    np.testing.assert_array_equal(xv[:, 0], 2 * yv)
    (_, again), _ = train_validation_split(x, y, validation, rng=1)
    np.testing.assert_array_equal(again, yt)


def test_split_without_shuffle_holds_out_the_last_samples():
    (_, yt), (_, yv) = train_validation_split(np.zeros((10, 1)), np.arange(10), 3,
                                              shuffle=False)
    assert yt.tolist() == list(range(7)) and yv.tolist() == [7, 8, 9]


@pytest.mark.parametrize("bad", [0, 10, 1.0, 0.0, -0.5, True, "half"])
def test_split_refuses_an_empty_side(bad):
    with pytest.raises(ValueError, match="train_validation_split: expected validation"):
        train_validation_split(np.zeros((10, 1)), np.arange(10), bad)


def test_split_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="as many targets as samples"):
        train_validation_split(np.zeros((10, 1)), np.arange(9))


def test_one_hot_marks_the_label_column_of_each_row():
    labels = np.array([3, 0, 2, 2, 1])
    out = one_hot(labels, 5)
    assert out.shape == (5, 5) and out.dtype == np.float32
    np.testing.assert_array_equal(out.sum(axis=1), np.ones(5))
    np.testing.assert_array_equal(out.argmax(axis=1), labels)
    assert one_hot(labels).shape == (5, 4)


def test_one_hot_refuses_bad_labels():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 2\]"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot: expected a 1-D array of integer labels"):
        one_hot(np.array([0.0, 1.0]))
