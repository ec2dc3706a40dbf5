"""Data for netlib: the IDX reader, dataset loaders, splits, one-hot, downloads.

>>> from netlib.data import load_image_dataset, train_validation_split, one_hot
"""

from netlib.data.datasets import (
    Dataset,
    load_digits,
    load_fashion_mnist,
    load_image_dataset,
    load_mnist,
    make_synthetic,
    one_hot,
    train_validation_split,
)
from netlib.data.download import DownloadError, cache_dir, download_dataset, download_file
from netlib.data.idx import read_idx, write_idx

__all__ = [
    "Dataset",
    "DownloadError",
    "cache_dir",
    "download_dataset",
    "download_file",
    "load_digits",
    "load_fashion_mnist",
    "load_image_dataset",
    "load_mnist",
    "make_synthetic",
    "one_hot",
    "read_idx",
    "train_validation_split",
    "write_idx",
]
