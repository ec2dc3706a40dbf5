r"""Seed E's full run: 25 epochs of its MNIST network, with the seed's settings.

Trains 784 → 100 → 200 → 10 (ReLUs, weights ``N(0, 0.01²)``) with SGD, step
0.1, shuffled batches of 32, holding out the last 10,000 training images for
validation, and writes next to the site's seed-E page:

``seed_e_full_<dataset>.json``
    the settings, a fingerprint of the data, the per-epoch history (train
    loss and accuracy, validation loss and accuracy, test accuracy, seconds),
    the epoch with the best validation accuracy and the test accuracy of its
    weights, and of the final weights;
``seed_e_best_<dataset>.npz``
    the weights of that best-validation epoch (:func:`netlib.save_parameters`).

The page shows this run, checks that it was made with the settings in
:data:`examples.seed_networks.SEED_E_SETTINGS` on the same data, re-evaluates
the saved weights on the test set, and re-trains the first epochs itself.

Usage (from the repository root)::

    python examples/seed_e_full.py                      # best available data
    python examples/seed_e_full.py --data mnist --path ~/data/mnist   # real MNIST

For real MNIST, put the four IDX files as distributed
(``train-images-idx3-ubyte.gz`` ...) in one folder and pass it with ``--path``
(or set ``$NETLIB_DATA`` and put them in ``$NETLIB_DATA/mnist``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:            # run as a file: make ``examples`` importable
    sys.path.insert(0, str(ROOT))

import netlib as nl  # noqa: E402
from examples.seed_networks import SEED_E_SETTINGS, BestEpoch, run_epochs, seed_e  # noqa: E402

#: Where the site's seed-E page reads the cached run.
DEFAULT_OUT = ROOT / "docs" / "seeds" / "_data"
#: The seed of the weights and of the shuffling.
DEFAULT_RNG = 0


def data_fingerprint(data) -> str:
    """SHA-256 of the loaded arrays: the page checks it has the same data."""
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def load(name: str, path: str | None):
    """The dataset to train on: ``auto`` is netlib's best available one."""
    from netlib import data as datasets

    if name == "auto":
        return datasets.load_image_dataset()
    if name == "digits":
        return datasets.load_digits()
    loader = datasets.load_mnist if name == "mnist" else datasets.load_fashion_mnist
    return loader(path)


def full_run(data, epochs: int | None, rng: int, out: Path) -> dict:
    """Train, keep the best-validation weights, write the JSON and NPZ; return the record.

    ``epochs=None`` means the seed's 25 (300 on scikit-learn's small digits set,
    see :data:`examples.seed_networks.SEED_E_SMALL_DATA_EPOCHS`).
    """
    setup = seed_e(data, rng=rng)
    epochs = setup.epochs if epochs is None else epochs
    best = BestEpoch(setup)

    def keep_best(epoch, record):
        best(epoch, record)
        print(f"epoch {epoch:2d}: train loss {record['train_loss'][-1]:.4f}, "
              f"val accuracy {record['val_accuracy'][-1]:.4f}, "
              f"{record['seconds'][-1]:.1f} s", flush=True)

    started = time.perf_counter()
    history = run_epochs(setup, epochs, rng=rng, on_epoch=keep_best)
    total = time.perf_counter() - started
    final_test = nl.evaluate(setup.model, setup.loss, *setup.test)[1]
    best.restore()
    best_test = nl.evaluate(setup.model, setup.loss, *setup.test)[1]

    out.mkdir(parents=True, exist_ok=True)
    weights_path = out / f"seed_e_best_{data.name}.npz"
    nl.save_parameters(setup.model, weights_path)
    record = {
        "script": "examples/seed_e_full.py",
        "settings": {**SEED_E_SETTINGS, "epochs": epochs, "rng": rng, "blas_threads": 1},
        "dataset": {"name": data.name, "source": data.source,
                    "n_train": len(setup.x), "n_validation": len(setup.validation[0]),
                    "n_test": len(setup.test[0]), "sha256": data_fingerprint(data)},
        "history": history,
        "best_epoch": best.epoch,
        "best_val_accuracy": best.accuracy,
        "test_accuracy_best": best_test,
        "test_accuracy_final": final_test,
        "weights_file": weights_path.name,
        "total_seconds": total,
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "netlib": nl.__version__, "machine": platform.machine()},
    }
    json_path = out / f"seed_e_full_{data.name}.json"
    json_path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"best validation epoch {best.epoch} (val accuracy {best.accuracy:.4f}): "
          f"test accuracy {best_test:.4f}; final epoch: test accuracy {final_test:.4f}")
    print(f"wrote {json_path} and {weights_path} ({total:.0f} s of training)")
    return record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=["auto", "fashion-mnist", "mnist", "digits"],
                        default="auto", help="dataset (auto: Fashion-MNIST, MNIST, digits)")
    parser.add_argument("--path", help="folder holding the four IDX files")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: the seed's 25 (300 on the small digits set)")
    parser.add_argument("--rng", type=int, default=DEFAULT_RNG)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    data = load(args.data, args.path)
    print(f"training seed E on {data!r}", flush=True)
    full_run(data, args.epochs, args.rng, args.out)


if __name__ == "__main__":
    main()
