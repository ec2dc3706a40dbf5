r"""Datasets to train on: Fashion-MNIST, MNIST, scikit-learn digits, synthetic blobs.

Every loader returns a :class:`Dataset`: float images flattened to rows
(``(n, features)``, the canonical row layout) scaled to :math:`[0, 1]`, integer
labels, a fixed train/test split, and the ``name`` of what was loaded.

Where the IDX files are looked for
----------------------------------
Fashion-MNIST and MNIST share their file names (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally ``.gz``), so each dataset lives in a
folder of its own. In order:

1. the ``path`` argument, if given (a folder holding the four files);
2. ``$NETLIB_DATA/<name>`` (``<name>`` is ``fashion-mnist`` or ``mnist``), the
   user's data folder;
3. the download cache, ``<cache>/<name>`` (see :mod:`netlib.data.download`);
4. for Fashion-MNIST only, Debian's package ``dataset-fashion-mnist``:
   ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netlib._validation import positive_ints
from netlib.data.idx import read_idx

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

#: The four IDX files of an MNIST-format dataset (without ``.gz``).
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))


@dataclass
class Dataset:
    """A train/test split of a classification dataset.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        Inputs, ``(n, features)`` floats (images flattened row by row).
    y_train, y_test : numpy.ndarray
        Integer class labels, ``(n,)``, dtype int64.
    name : str
        What this is: ``"fashion-mnist"``, ``"mnist"``, ``"digits"``, ``"synthetic"``.
    classes : tuple of str
        Human names of the classes, indexed by label.
    image_shape : tuple of int or None
        Shape of one image (``(28, 28)``), for plotting; ``None`` if not images.
    source : str
        Where the data came from (a folder, or how it was made).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    classes: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None
    source: str = ""

    @property
    def n_features(self) -> int:
        """Number of input features per sample."""
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.n_classes} classes, {self.x_train.dtype}, from {self.source})")


def data_home() -> Path | None:
    """The user's data folder ``$NETLIB_DATA``, or ``None`` when it is not set."""
    value = os.environ.get("NETLIB_DATA")
    return Path(value).expanduser() if value else None


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _candidate_folders(name: str, path) -> list[Path]:
    from netlib.data.download import cache_dir

    if path is not None:
        return [Path(path).expanduser()]
    folders = []
    home = data_home()
    if home is not None:
        folders.append(home / name)
    folders.append(cache_dir() / name)
    if name == "fashion-mnist":
        folders.append(DEBIAN_FASHION_MNIST)
    # $NETLIB_DATA is also the download cache when set: list each folder once.
    return list(dict.fromkeys(folders))


def find_idx_folder(name: str, path=None) -> Path:
    """The first folder holding all four IDX files of dataset ``name``.

    Raises ``FileNotFoundError`` listing every folder tried and what to do.
    """
    tried = []
    for folder in _candidate_folders(name, path):
        missing = [stem for stem in IDX_FILES.values() if _find_file(folder, stem) is None]
        if not missing:
            return folder
        tried.append(f"{folder} (missing {', '.join(missing)})")
    hint = ("pass path=<folder>, put the files in $NETLIB_DATA/" + name +
            f", or call netlib.data.download_dataset({name!r})")
    if name == "fashion-mnist":
        hint += ", or install Debian's dataset-fashion-mnist package"
    raise FileNotFoundError(f"load {name}: expected the four IDX files "
                            f"{', '.join(IDX_FILES.values())} (optionally .gz) in one folder; "
                            f"tried: {'; '.join(tried)}. To fix: {hint}")


def _load_idx_dataset(name: str, path, dtype, classes) -> Dataset:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"load {name}: expected a float dtype for the images, got {dtype}")
    folder = find_idx_folder(name, path)
    files = {key: _find_file(folder, stem) for key, stem in IDX_FILES.items()}
    arrays = {key: read_idx(file) for key, file in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"load {name}: expected {split} images (n, rows, cols) and labels "
                             f"(n,), got shapes {images.shape} and {labels.shape} in {folder}")
        _check_labels(name, labels, len(classes), files[f"y_{split}"])
    image_shape = arrays["x_train"].shape[1:]
    x = {key: _scaled_images(name, arrays[key], dtype, files[key])
         for key in ("x_train", "x_test")}
    return Dataset(x_train=x["x_train"], y_train=arrays["y_train"].astype(np.int64),
                   x_test=x["x_test"], y_test=arrays["y_test"].astype(np.int64),
                   name=name, classes=classes, image_shape=tuple(image_shape),
                   source=str(folder))


def _check_labels(name: str, labels: np.ndarray, n_classes: int, file: Path) -> None:
    """Refuse labels that are not class numbers ``0 .. n_classes - 1``.

    A label 200 among 10 classes would otherwise pass until the loss refuses
    a batch mid-training (or, as a one-hot index, silently wrap around).
    """
    if labels.dtype.kind not in "iu":
        raise ValueError(f"load {name}: expected integer class labels in {file}, got dtype "
                         f"{labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = int(np.count_nonzero((labels < 0) | (labels >= n_classes)))
        raise ValueError(f"load {name}: expected labels in [0, {n_classes - 1}] for "
                         f"{n_classes} classes in {file}, got values from {labels.min()} to "
                         f"{labels.max()} ({bad} out of range); the file is damaged or "
                         f"belongs to another dataset")


def _scaled_images(name: str, images: np.ndarray, dtype: np.dtype, file: Path) -> np.ndarray:
    """Images flattened row-major, as ``dtype`` in [0, 1].

    Integer pixels are 0..255 and are divided by 255, in the requested
    dtype from the start (no float64 detour for float32). Float images are
    taken to be scaled already and must lie in [0, 1]: dividing them by 255
    again would leave every pixel below 0.004, and nothing would say so.
    """
    flat = images.reshape(len(images), -1)
    if flat.dtype.kind in "iu":
        if flat.size and (flat.min() < 0 or flat.max() > 255):
            raise ValueError(f"load {name}: expected integer pixels in 0..255 in {file}, got "
                             f"values from {flat.min()} to {flat.max()}")
        out = flat.astype(dtype)
        out *= dtype.type(1 / 255)
        return out
    out = flat.astype(dtype)
    if out.size and not (np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1):
        raise ValueError(f"load {name}: expected float pixels already in [0, 1] in {file} "
                         f"(integer pixels 0..255 are scaled, floats are not), got values "
                         f"from {np.nanmin(out):g} to {np.nanmax(out):g}; store 0..255 "
                         f"pixels as uint8, or floats divided by 255")
    return out


def load_fashion_mnist(path=None, *, dtype=np.float32) -> Dataset:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60,000 + 10,000 clothing images.

    28 × 28 grey images of ten kinds of clothing, flattened to 784 features in
    :math:`[0, 1]`. Found in ``path``, ``$NETLIB_DATA/fashion-mnist``, the
    download cache or Debian's ``/usr/share/datasets/fashion-mnist``.

    Examples
    --------
    On a machine with the files (not run as a doctest, which must not depend
    on them)::

        data = load_fashion_mnist()
        data.x_train.shape     # (60000, 784)
        data.y_train[:5]       # array([9, 0, 0, 3, 0]): ankle boot, T-shirt, ...
    """
    return _load_idx_dataset("fashion-mnist", path, dtype, FASHION_MNIST_CLASSES)


def load_mnist(path=None, *, dtype=np.float32) -> Dataset:
    """MNIST handwritten digits: 60,000 + 10,000 images of 28 × 28 pixels.

    Not shipped with netlib or Debian: put the four IDX files (as distributed,
    gzip or not) in ``path`` or ``$NETLIB_DATA/mnist``, or fetch them with
    :func:`netlib.data.download_dataset` ``("mnist")``.
    """
    return _load_idx_dataset("mnist", path, dtype, MNIST_CLASSES)


def load_digits(*, test_size: float = 0.25, rng=0, dtype=np.float32) -> Dataset:
    """scikit-learn's 8 × 8 digits (1,797 images), split into train and test.

    Pixel values 0..16 are scaled to :math:`[0, 1]`. The split is a seeded
    shuffle (``rng``) so it is the same on every run. Needs scikit-learn.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits: scikit-learn is needed (pip install scikit-learn)") \
            from None
    digits = sklearn_digits()
    x = (digits.data / 16.0).astype(dtype)
    y = digits.target.astype(np.int64)
    (x_train, y_train), (x_test, y_test) = train_validation_split(x, y, test_size, rng=rng)
    return Dataset(x_train, y_train, x_test, y_test, name="digits", classes=MNIST_CLASSES,
                   image_shape=(8, 8), source="sklearn.datasets.load_digits")


def make_synthetic(n_train: int = 1000, n_test: int = 250, n_features: int = 20,
                   n_classes: int = 3, *, spread: float = 1.0, rng=0,
                   dtype=np.float32) -> Dataset:
    r"""Gaussian blobs: one cluster per class, seeded, for quick experiments.

    Class :math:`k` has centre :math:`\mu_k \sim \mathcal N(0, 4 I)` and samples
    :math:`x = \mu_k + \text{spread}\cdot \varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, I)`. Labels are balanced (cycled),
    then shuffled together with the inputs.

    Examples
    --------
    >>> data = make_synthetic(100, 20, n_features=5, n_classes=4, rng=1)
    >>> data.x_train.shape, data.x_test.shape, sorted(set(data.y_train.tolist()))
    ((100, 5), (20, 5), [0, 1, 2, 3])
    """
    positive_ints("make_synthetic", n_train=n_train, n_test=n_test, n_features=n_features,
                  n_classes=n_classes)
    rng = np.random.default_rng(rng)
    centres = 2.0 * rng.standard_normal((n_classes, n_features))
    n = n_train + n_test
    y = rng.permutation(np.arange(n) % n_classes)
    x = centres[y] + spread * rng.standard_normal((n, n_features))
    x = x.astype(dtype)
    return Dataset(x[:n_train], y[:n_train].astype(np.int64), x[n_train:],
                   y[n_train:].astype(np.int64), name="synthetic",
                   classes=tuple(f"class {k}" for k in range(n_classes)),
                   source=f"make_synthetic(rng={rng.bit_generator.seed_seq.entropy})")


#: Dataset names understood by :func:`load_image_dataset`, and their loaders.
LOADERS = {
    "fashion-mnist": load_fashion_mnist,
    "mnist": load_mnist,
    "digits": load_digits,
}


def load_image_dataset(prefer=("fashion-mnist", "mnist", "digits"), *,
                       dtype=np.float32) -> Dataset:
    """The first dataset of ``prefer`` that can be loaded here; its ``name`` says which.

    Fashion-MNIST comes first by default because Debian packages it (so a
    build is reproducible); MNIST needs a download; scikit-learn's digits are
    small but always there when scikit-learn is. Pass e.g.
    ``prefer=("mnist", "digits")`` to choose differently.

    Raises ``FileNotFoundError`` with every reason if none can be loaded.
    """
    if isinstance(prefer, str):
        prefer = (prefer,)
    reasons = []
    for name in prefer:
        if name not in LOADERS:
            raise ValueError(f"load_image_dataset: expected names from {sorted(LOADERS)}, "
                             f"got {name!r}")
        try:
            return LOADERS[name](dtype=dtype)
        except (FileNotFoundError, ImportError) as error:
            reasons.append(f"{name}: {error}")
    raise FileNotFoundError("load_image_dataset: none of the datasets could be loaded:\n"
                            + "\n".join(reasons))


def train_validation_split(x, y, validation=0.1, *, rng=None, shuffle: bool = True):
    """Split ``(x, y)`` into ``(x_train, y_train), (x_val, y_val)`` along the first axis.

    Parameters
    ----------
    x, y : array
        Samples and targets, matched along axis 0.
    validation : float or int
        Fraction of the samples (``0 < validation < 1``) or their number.
    rng : Generator or int, optional
        Seed of the shuffle.
    shuffle : bool
        With ``False`` the *last* samples are held out (seed E holds out the
        last 10,000 MNIST training images this way).

    Examples
    --------
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> (xt, yt), (xv, yv) = train_validation_split(x, y, 2, shuffle=False)
    >>> yt, yv
    (array([0, 1, 2]), array([3, 4]))
    """
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"train_validation_split: expected as many targets as samples ({n}), "
                         f"got {len(y)}")
    if isinstance(validation, (float, np.floating)) and 0 < validation < 1:
        n_val = round(float(validation) * n)
    elif isinstance(validation, (int, np.integer)) and not isinstance(validation, bool) \
            and 0 < validation < n:
        n_val = int(validation)
    else:
        raise ValueError(f"train_validation_split: expected validation as a fraction in "
                         f"(0, 1) or a count in [1, {n - 1}], got {validation!r}")
    if not 0 < n_val < n:
        raise ValueError(f"train_validation_split: validation={validation!r} of {n} samples "
                         f"leaves an empty split")
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    train, val = order[:n - n_val], order[n - n_val:]
    return (x[train], y[train]), (x[val], y[val])


def one_hot(labels, n_classes: int | None = None, *, dtype=np.float32) -> np.ndarray:
    """One-hot rows: ``out[i, labels[i]] = 1``, shape ``(n, n_classes)``.

    Examples
    --------
    >>> one_hot(np.array([2, 0, 1]), 4, dtype=np.float64)
    array([[0., 0., 1., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.]])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected a 1-D array of integer labels, got dtype "
                        f"{labels.dtype} and shape {labels.shape}")
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"one_hot: expected labels in [0, {n_classes - 1}], got values "
                         f"from {labels.min()} to {labels.max()}")
    out = np.zeros((labels.size, n_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out
