"""Test accuracy of a 784-256-128-10 ReLU MLP trained with netlib on Fashion-MNIST.

The network, optimizer and number of epochs are fixed before the run (command
line options, defaults below); the model trains on all 60,000 training images
and the headline number is the test accuracy after the *last* epoch, so the
test set never chooses anything. Test accuracy after each epoch is printed
only to show the curve.

Also printed: wall time of the training (evaluation excluded) and the peak
resident memory of the whole process (``ru_maxrss``: Python, numpy, the data
and the model together).

Reference point: the Fashion-MNIST paper's benchmark table (Xiao, Rasul &
Vollgraf, 2017) lists 0.8833 for scikit-learn's ``MLPClassifier`` with hidden
layers 256-128-100.

Run ``python benchmarks/accuracy.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time

import numpy as np

from netlib import SGD, Adam, Dense, Momentum, ReLU, Sequential, SoftmaxCrossEntropy, fit
from netlib.data import load_fashion_mnist

SIZES = (784, 256, 128, 10)


def build(dtype, rng) -> Sequential:
    layers = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(SIZES)):
        layers.append(Dense(fan_in, fan_out, init="he", rng=rng, dtype=dtype))
        if index < len(SIZES) - 2:
            layers.append(ReLU())
    return Sequential(layers)


def peak_memory_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--optimizer", choices=("adam", "momentum", "sgd"), default="adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 1e-3 for Adam, 0.05 otherwise)")
    parser.add_argument("--lr-decay", type=float, default=0.85,
                        help="multiply the learning rate by this after every epoch "
                             "(1 keeps it constant)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(args.threads)  # noqa: F841  (kept for the run)

    dtype = np.dtype(args.dtype)
    data = load_fashion_mnist(args.data, dtype=dtype)
    rng = np.random.default_rng(args.seed)
    model, loss = build(dtype, rng), SoftmaxCrossEntropy()
    lr = args.lr if args.lr is not None else (1e-3 if args.optimizer == "adam" else 0.05)
    optimizer = {"adam": lambda: Adam(lr), "momentum": lambda: Momentum(lr, 0.9),
                 "sgd": lambda: SGD(lr)}[args.optimizer]()
    print(f"Fashion-MNIST from {data.source}: train {data.x_train.shape}, "
          f"test {data.x_test.shape}, {dtype.name}")
    print(f"MLP {'-'.join(map(str, SIZES))} ReLU, {args.optimizer} lr {lr} (x{args.lr_decay} "
          f"per epoch), batch {args.batch}, {args.epochs} epochs, seed {args.seed}\n")
    print(f"{'epoch':>5s} {'train loss':>10s} {'train acc':>9s} {'test acc':>8s} {'time s':>7s}")
    training_seconds = 0.0
    test_accuracy = float("nan")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        history = fit(model, loss, optimizer, data.x_train, data.y_train, epochs=1,
                      batch_size=args.batch, rng=rng, progress=False)
        training_seconds += time.perf_counter() - start
        # Exponential learning-rate decay, fixed in advance: large steps
        # early, small ones to settle at the end.
        optimizer.lr *= args.lr_decay
        test_accuracy = loss.accuracy(model.predict(data.x_test, batch_size=2000), data.y_test)
        print(f"{epoch:5d} {history.train_loss[-1]:10.4f} {history.train_accuracy[-1]:9.4f} "
              f"{test_accuracy:8.4f} {training_seconds:7.1f}")
    print(f"\ntest accuracy after {args.epochs} epochs: {test_accuracy:.4f}")
    print(f"training wall time: {training_seconds:.1f} s "
          f"({training_seconds / args.epochs:.2f} s per epoch)")
    print(f"peak memory (max RSS of the process): {peak_memory_mib():.0f} MiB")


if __name__ == "__main__":
    main()
