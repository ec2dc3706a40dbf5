"""Bad files get a clear error naming the file, and a failed load changes nothing.

Two tables in the form of ``test_bad_input.py``: (id, what to do in a fresh
folder, exception type, fragments the message must contain). ``PARAMETER_FILES``
writes a file and loads it into a model with ``load_parameters``; every row
also checks that the model is exactly as before (loading is all-or-nothing)
and that the message never suggests ``allow_pickle``. ``DATA_FILES`` covers
the IDX reader and the MNIST loader.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest

import netlib as nl
from netlib.data import load_mnist, read_idx, write_idx
from netlib.data.datasets import IDX_FILES
from netlib.data.idx import MAX_EXPANSION


def make_model(seed=0):
    rng = np.random.default_rng(seed)
    return nl.Sequential([nl.Dense(3, 4, rng=rng), nl.Tanh(), nl.Dense(4, 2, rng=rng)])


def saved(folder, name="model.npz"):
    return nl.save_parameters(make_model(seed=7), folder / name)


def with_arrays(name, convert):
    """A writer of an .npz holding the model's parameters passed through ``convert``."""
    def write(folder):
        path = folder / name
        np.savez(path, **{key: convert(value) for key, value in make_model().parameters().items()})
        return path
    return write


def truncated(folder):
    path = saved(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bytes_file(name, content: bytes):
    def write(folder):
        (folder / name).write_bytes(content)
        return folder / name
    return write


def short_member(folder):
    """A valid zip whose 0.W.npy promises 12 float64 values and holds 7."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones((3, 4)))
    path = folder / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("0.W.npy", buffer.getvalue()[:-40])
    return path


def other_architecture(folder):
    path = folder / "wide.npz"
    nl.save_parameters(nl.Sequential([nl.Dense(3, 5), nl.Tanh(), nl.Dense(5, 2)]), path)
    return path


PARAMETER_FILES = [
    ("truncated .npz", truncated,
     ValueError, ["model.npz", "truncated or damaged", "save the model again"]),
    ("binary file that is not a zip", bytes_file("noise.npz", bytes(range(128, 256)) * 4),
     ValueError, ["noise.npz", "not an .npz archive", "80 81 82"]),
    ("text file named .npz", bytes_file("weights.npz", b"0.W,0.b\n0.1,0.2\n"),
     ValueError, ["weights.npz", "not an .npz archive", "text file", "save_parameters"]),
    ("empty file", bytes_file("empty.npz", b""),
     ValueError, ["empty.npz", "not an .npz archive", "empty"]),
    ("truncated array inside a valid zip", short_member,
     ValueError, ["short.npz", "entry '0.W' is damaged", "expected 96 bytes"]),
    ("complex values", with_arrays("complex.npz", lambda v: v.astype(complex)),
     ValueError, ["complex.npz", "'0.W'", "complex numbers", "expected real float values"]),
    ("string values", with_arrays("text.npz", lambda v: v.astype(str)),
     ValueError, ["text.npz", "'0.W'", "holds text", "expected real float values"]),
    ("pickled objects", with_arrays("objects.npz", lambda v: np.array([None], dtype=object)),
     ValueError, ["objects.npz", "Python objects", "never loads"]),
    ("NaN parameters", with_arrays("nan.npz", lambda v: np.full_like(v, np.nan)),
     ValueError, ["nan.npz", "'0.W'", "12 non-finite", "diverged"]),
    ("another architecture", other_architecture,
     ValueError, ["wide.npz", "'0.W' has shape (3, 5) in the file", "model expects (3, 4)"]),
    ("no such file", lambda folder: folder / "missing",
     FileNotFoundError, ["missing.npz", ".npz is added"]),
]


@pytest.mark.parametrize(("write", "error", "fragments"),
                         [row[1:] for row in PARAMETER_FILES],
                         ids=[row[0] for row in PARAMETER_FILES])
def test_a_bad_parameter_file_is_refused_and_the_model_is_unchanged(tmp_path, write, error,
                                                                     fragments):
    path = write(tmp_path)
    model = make_model(seed=1)
    before = {key: value.copy() for key, value in model.parameters().items()}
    with pytest.raises(error) as caught:
        nl.load_parameters(model, path)
    message = str(caught.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"message {message!r} lacks {missing}"
    assert "allow_pickle" not in message
    for key, value in model.parameters().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


# -- data files -------------------------------------------------------------------

def idx_header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", n) for n in shape)


def four_megabyte_gzip_claiming_four_gigabytes(folder):
    payload = idx_header(0x08, (4000, 1000, 1000)) + np.random.default_rng(0).bytes(4 * 2**20)
    path = folder / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(payload, compresslevel=1))
    return lambda: read_idx(path)


def fake_mnist(folder, labels=None, images=None):
    """The four MNIST files in ``folder``, with the given train labels or images."""
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 2, dtype=np.uint8)}
    if labels is not None:
        arrays["y_train"] = np.asarray(labels, dtype=np.uint8)
    if images is not None:
        arrays["x_train"] = images
    for key, stem in IDX_FILES.items():
        write_idx(folder / (stem + ".gz"), arrays[key])
    return arrays


def label_200(folder):
    fake_mnist(folder, labels=[0, 1, 200, 3, 4, 5])
    return lambda: load_mnist(folder)


def float_images_beyond_one(folder):
    fake_mnist(folder, images=np.full((6, 28, 28), 255.0, dtype=np.float32))
    return lambda: load_mnist(folder)


DATA_FILES = [
    ("a 4 MB gzip claiming 4 GB", four_megabyte_gzip_claiming_four_gigabytes,
     ValueError, ["bomb-idx3-ubyte.gz", "4000000000 bytes", f"{MAX_EXPANSION} times",
                  "pass max_bytes=4000000000"]),
    ("label 200 with 10 classes", label_200,
     ValueError, ["load mnist", "train-labels-idx1-ubyte.gz", "[0, 9]", "10 classes",
                  "to 200", "1 out of range"]),
    ("float images of 0..255", float_images_beyond_one,
     ValueError, ["load mnist", "train-images-idx3-ubyte.gz", "already in [0, 1]",
                  "from 255 to 255", "uint8"]),
]


@pytest.mark.parametrize(("make_mistake", "error", "fragments"),
                         [row[1:] for row in DATA_FILES], ids=[row[0] for row in DATA_FILES])
def test_a_bad_data_file_is_refused_by_name(tmp_path, make_mistake, error, fragments):
    action = make_mistake(tmp_path)
    with pytest.raises(error) as caught:
        action()
    message = str(caught.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_an_explicit_max_bytes_lets_a_large_claim_through(tmp_path):
    # Past the limit the reader reads the real data and finds it short: the
    # claim is judged by the data, not refused by the default cap.
    four_megabyte_gzip_claiming_four_gigabytes(tmp_path)
    with pytest.raises(ValueError, match="truncated IDX file"):
        read_idx(tmp_path / "bomb-idx3-ubyte.gz", max_bytes=2**33)


def test_float_images_already_in_0_1_are_not_divided_again(tmp_path):
    images = np.random.default_rng(1).uniform(0, 1, (6, 28, 28)).astype(np.float32)
    fake_mnist(tmp_path, images=images)
    data = load_mnist(tmp_path)
    np.testing.assert_array_equal(data.x_train, images.reshape(6, -1))
    assert data.x_test.max() > 0.5          # the uint8 test images are still scaled by 255
