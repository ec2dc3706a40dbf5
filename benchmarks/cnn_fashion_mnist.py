"""A small CNN trained with netlib on Fashion-MNIST: accuracy, epochs, wall time.

    conv 1→16 3×3 (pad 1) → ReLU → max-pool 2 → conv 16→32 3×3 (pad 1) → ReLU
    → max-pool 2 → flatten (32·7·7) → dense 1568→128 → ReLU → dense 128→10

trained with Adam on softmax cross-entropy in float32. The target is 0.91 test
accuracy within 5 epochs (the Fashion-MNIST benchmark table lists 0.916 for
two conv+pooling layers). Run from the repository root::

    .venv/bin/python benchmarks/cnn_fashion_mnist.py --epochs 5

It prints one line per epoch (train loss and accuracy, test accuracy, seconds)
and a summary line. ``--limit N`` trains on the first N images only (a quick
smoke run, not the benchmark).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from netlib import (
    Adam,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    evaluate,
    fit,
)
from netlib.data import load_fashion_mnist


def build_cnn(rng: np.random.Generator, dtype=np.float32) -> Sequential:
    """The benchmark's network (He initialisation, zero biases)."""
    return Sequential([
        Conv2D(1, 16, 3, padding=1, rng=rng, dtype=dtype), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1, rng=rng, dtype=dtype), ReLU(), MaxPool2D(2),
        Flatten(),
        Dense(32 * 7 * 7, 128, rng=rng, dtype=dtype), ReLU(),
        Dense(128, 10, rng=rng, dtype=dtype),
    ])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N images only (smoke run)")
    args = parser.parse_args(argv)

    data = load_fashion_mnist(dtype=np.float32)
    x_train = data.x_train.reshape(-1, 1, 28, 28)     # NCHW, one grey channel
    x_test = data.x_test.reshape(-1, 1, 28, 28)
    y_train, y_test = data.y_train, data.y_test
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]

    rng = np.random.default_rng(args.seed)
    model = build_cnn(rng)
    loss = SoftmaxCrossEntropy()
    optimizer = Adam(lr=args.lr)
    print(f"{model}\ntrain {x_train.shape}, test {x_test.shape}, batch {args.batch_size}, "
          f"Adam lr {args.lr}, seed {args.seed}")

    start = time.perf_counter()
    test_accuracy = None
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        history = fit(model, loss, optimizer, x_train, y_train, epochs=1,
                      batch_size=args.batch_size, rng=rng, progress=False)
        train_seconds = time.perf_counter() - epoch_start
        _, test_accuracy = evaluate(model, loss, x_test, y_test, batch_size=1000)
        print(f"epoch {epoch}: train loss {history.train_loss[-1]:.4f}, train accuracy "
              f"{history.train_accuracy[-1]:.4f}, test accuracy {test_accuracy:.4f}, "
              f"{train_seconds:.1f} s training, {time.perf_counter() - epoch_start:.1f} s "
              f"with evaluation", flush=True)
    total = time.perf_counter() - start
    print(f"summary: test accuracy {test_accuracy:.4f} after {args.epochs} epochs, "
          f"wall time {total:.1f} s")
    return {"test_accuracy": test_accuracy, "epochs": args.epochs, "seconds": total}


if __name__ == "__main__":
    main()
