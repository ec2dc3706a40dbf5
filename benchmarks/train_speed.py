"""How long one epoch of a 784-256-128-10 ReLU MLP takes: netlib, fused numpy, PyTorch.

The workload is one Fashion-MNIST-sized epoch: 60,000 samples of 784 inputs,
minibatches of 128 in one fixed shuffled order, softmax cross-entropy, plain
SGD. Three implementations train it from the *same* initial weights on the
*same* batches:

``netlib``
    ``Sequential`` + ``SoftmaxCrossEntropy`` + ``SGD``, the loop a user writes
    (forward, loss, backward, step).
``numpy``
    A fused hand-written numpy MLP in this file: the obvious tight code, every
    matrix product written out, no layer objects.
``torch``
    ``torch.nn`` + ``torch.optim.SGD`` on CPU, if PyTorch is installed, with
    the same number of threads as numpy's BLAS (printed).

netlib and numpy gather each batch with ``np.take(x, index, axis=0)`` (torch
with the equivalent ``x[index]`` on a tensor); the gather is memory-bound and
costs about 60 microseconds per batch, outside the matrix products.

netlib, numpy and gemm take turns within each epoch: every one trains on a
chunk of 100 batches (about 0.1 s), then the next one does, the order rotating
from chunk to chunk, so that the noise of a shared machine, which comes in
bursts of seconds, hits all three alike. Each turn starts with cold caches
(the contender's weights and buffers come back from memory); with turns of 20
batches that start cost lowered netlib's roofline fraction by about 0.03,
with 100 batches it is lost in the noise. PyTorch then trains its epoch in one
piece (its own thread pool does not take turns well, see ``run``). A
repetition is one epoch of every contender; ratios are taken within a
repetition and the median over repetitions is reported.

``gemm`` is the roofline: the eight matrix products one training step needs
(three forward, three weight gradients, two input gradients; the data's own
gradient is never needed) on every batch of the epoch, into preallocated
outputs, and nothing else. Its time is the epoch's FLOPs over the measured
matrix-multiply rate; "netlib roofline" is that time over netlib's.

Run ``python benchmarks/train_speed.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from netlib import SGD, Dense, ReLU, Sequential, SoftmaxCrossEntropy
from netlib.data import load_fashion_mnist

SIZES = (784, 256, 128, 10)


def clock() -> tuple[float, float]:
    """(wall time, CPU time of this process), read together."""
    return time.perf_counter(), time.process_time()


def elapsed(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def blas_threads() -> int | None:
    """Threads numpy's BLAS uses, if threadpoolctl can tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def load_inputs(n: int, dtype, rng):
    """Fashion-MNIST training images if available, else uniform noise of that size."""
    try:
        data = load_fashion_mnist(dtype=dtype)
        x, y, name = data.x_train[:n], data.y_train[:n], "Fashion-MNIST"
    except FileNotFoundError:
        x = rng.random((n, SIZES[0])).astype(dtype)
        y = rng.integers(0, SIZES[-1], n)
        name = "uniform noise"
    return np.ascontiguousarray(x), y.astype(np.int64), name


def initial_weights(rng, dtype):
    """He-initialised ``[(W, b), ...]`` in row layout, shared by every contender."""
    return [((np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))).astype(dtype),
             np.zeros(fan_out, dtype=dtype))
            for fan_in, fan_out in itertools.pairwise(SIZES)]


def epoch_flops(n: int) -> int:
    """Floating-point operations of the eight matrix products over one epoch."""
    per_sample = 0
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(SIZES)):
        per_sample += 2 * 2 * fan_in * fan_out            # forward and weight gradient
        if index > 0:
            per_sample += 2 * fan_in * fan_out            # input gradient (not for the data)
    return per_sample * n


# -- contenders ----------------------------------------------------------------------------
#
# Each contender is a generator over the epoch's chunks (lists of consecutive
# batches): it trains on one chunk, yields that chunk's (wall, cpu) time, and
# finally returns the epoch's mean training loss. The driver advances all of
# them chunk by chunk, so that they take turns every few milliseconds.

def netlib_epoch(weights, x, y, chunks, lr):
    layers = []
    for index, (W, b) in enumerate(weights):
        layers.append(Dense.from_params(W, b))
        if index < len(weights) - 1:
            layers.append(ReLU())
    return (yield from netlib_sgd_epoch(Sequential(layers), x, y, chunks, lr))


def netlib_sgd_epoch(model, x, y, chunks, lr):
    """One SGD epoch of a netlib ``model`` with softmax cross-entropy, timed chunk by chunk.

    Yields the seconds of each chunk of batches and returns the mean training
    loss; shared by ``cnn_speed.py``.
    """
    loss, optimizer = SoftmaxCrossEntropy(), SGD(lr)
    params, grads = model.parameters(), model.gradients()
    total = 0.0
    for chunk in chunks:
        start = clock()
        for index in chunk:
            pred = model.forward(np.take(x, index, axis=0), check_finite_input=False)
            total += loss.forward(pred, y[index]) * len(index)
            model.backward_without_input_gradient(loss.backward())
            optimizer.step(params, grads)
        yield elapsed(start)
    return total / len(x)


def numpy_epoch(weights, x, y, chunks, lr):
    (W1, b1), (W2, b2), (W3, b3) = [(W.copy(), b.copy()) for W, b in weights]
    lr = x.dtype.type(lr)
    total = 0.0
    for chunk in chunks:
        start = clock()
        for index in chunk:
            xb, yb, n = np.take(x, index, axis=0), y[index], len(index)
            rows = np.arange(n)
            h1 = xb @ W1
            h1 += b1
            np.maximum(h1, 0, out=h1)
            h2 = h1 @ W2
            h2 += b2
            np.maximum(h2, 0, out=h2)
            z = h2 @ W3
            z += b3
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)                 # z is now the softmax p
            total -= float(np.log(z[rows, yb]).sum())
            z[rows, yb] -= 1
            z *= x.dtype.type(1 / n)                          # dL/dlogits = (p - onehot)/n
            dW3, db3 = h2.T @ z, z.sum(axis=0)
            g = z @ W3.T
            g *= h2 > 0
            dW2, db2 = h1.T @ g, g.sum(axis=0)
            g = g @ W2.T
            g *= h1 > 0
            dW1, db1 = xb.T @ g, g.sum(axis=0)
            for param, grad in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2), (W3, dW3),
                                (b3, db3)):
                grad *= lr
                param -= grad
        yield elapsed(start)
    return total / len(x)


def make_torch_epoch(torch):
    def torch_epoch(weights, x, y, chunks, lr):
        dtype = torch.float32 if x.dtype == np.float32 else torch.float64
        linears = [torch.nn.Linear(W.shape[0], W.shape[1], dtype=dtype) for W, _ in weights]
        with torch.no_grad():
            for linear, (W, b) in zip(linears, weights, strict=True):
                linear.weight.copy_(torch.from_numpy(W.T.copy()))   # torch stores (out, in)
                linear.bias.copy_(torch.from_numpy(b))
        model = torch.nn.Sequential(linears[0], torch.nn.ReLU(), linears[1], torch.nn.ReLU(),
                                    linears[2])
        return (yield from torch_sgd_epoch(torch, model, x, y, chunks, lr))
    return torch_epoch


def torch_sgd_epoch(torch, model, x, y, chunks, lr):
    """One SGD epoch of a torch ``model`` with cross-entropy, timed chunk by chunk.

    Yields the seconds of each chunk of batches (``chunks``: lists of index
    arrays) and returns the mean training loss; shared by ``cnn_speed.py``.
    """
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    torch_chunks = [[torch.from_numpy(index) for index in chunk] for chunk in chunks]
    total = 0.0
    for chunk in torch_chunks:
        start = clock()
        for index in chunk:
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        yield elapsed(start)
    return total / len(x)


def gemm_epoch(weights, x, y, chunks, lr):
    """Only the eight matrix products per batch, into preallocated outputs."""
    (W1, _), (W2, _), (W3, _) = weights
    dtype, full = x.dtype, len(chunks[0][0])
    xb = np.ascontiguousarray(x[:full])
    out = {name: np.empty(shape, dtype) for name, shape in {
        "h1": (full, 256), "h2": (full, 128), "z": (full, 10), "dW1": W1.shape,
        "dW2": W2.shape, "dW3": W3.shape, "g2": (full, 128), "g1": (full, 256)}.items()}
    for chunk in chunks:
        start = clock()
        for index in chunk:
            n = len(index)
            xs = xb[:n]
            h1, h2, z = out["h1"][:n], out["h2"][:n], out["z"][:n]
            g2, g1 = out["g2"][:n], out["g1"][:n]
            np.matmul(xs, W1, out=h1)
            np.matmul(h1, W2, out=h2)
            np.matmul(h2, W3, out=z)
            np.matmul(h2.T, z, out=out["dW3"])
            np.matmul(z, W3.T, out=g2)
            np.matmul(h1.T, g2, out=out["dW2"])
            np.matmul(g2, W2.T, out=g1)
            np.matmul(xs.T, g1, out=out["dW1"])
        yield elapsed(start)
    return float("nan")


# -- driver ------------------------------------------------------------------------------------

def interleaved_epoch(contenders, weights, x, y, chunks, lr):
    """One epoch of every contender, taking turns chunk by chunk.

    Returns ``{name: (wall, cpu, mean loss)}``. The turn order rotates from
    chunk to chunk so that no contender always runs right after the same
    other one (whose data it would find in, or evict from, the caches).
    """
    runs = {name: function(weights, x, y, chunks, lr) for name, function in contenders.items()}
    wall, cpu = dict.fromkeys(runs, 0.0), dict.fromkeys(runs, 0.0)
    names = list(runs)
    for turn in range(len(chunks)):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            chunk_wall, chunk_cpu = next(runs[name])
            wall[name] += chunk_wall
            cpu[name] += chunk_cpu
    result = {}
    for name, run in runs.items():
        try:
            next(run)
        except StopIteration as finished:       # the generator's return value
            result[name] = (wall[name], cpu[name], finished.value)
        else:
            raise RuntimeError(f"{name}: more chunks than expected")
    return result


def run(dtype, args, torch):
    rng = np.random.default_rng(args.seed)
    x, y, source = load_inputs(args.samples, dtype, rng)
    order = rng.permutation(len(x))
    batches = [order[start:start + args.batch] for start in range(0, len(x), args.batch)]
    chunks = [batches[start:start + args.chunk] for start in range(0, len(batches), args.chunk)]
    weights = initial_weights(rng, dtype)
    # Two groups. netlib, numpy and gemm share numpy's BLAS and take turns by
    # chunk. PyTorch has its own thread pool, whose idle threads spin for a
    # while after each turn and would steal the cores from the others' turns
    # (taking turns by chunk slowed every contender, torch threefold), so it
    # trains its epoch in one piece after theirs, in the same repetition.
    groups = [({"netlib": netlib_epoch, "numpy": numpy_epoch, "gemm": gemm_epoch}, chunks)]
    if torch is not None:
        groups.append(({"torch": make_torch_epoch(torch)}, [batches]))
    names = [name for contenders, _ in groups for name in contenders]
    # times[clock][name]: one entry per repetition, clock "wall" or "cpu".
    times = {"wall": {name: [] for name in names}, "cpu": {name: [] for name in names}}
    losses = {name: [] for name in names}
    for _ in range(args.warmup):
        for contenders, _ in groups:
            interleaved_epoch(contenders, weights, x, y, [batches[:20]], args.lr)
    for _ in range(args.repeats):
        for contenders, group_chunks in groups:
            for name, (wall, cpu, loss) in interleaved_epoch(contenders, weights, x, y,
                                                             group_chunks, args.lr).items():
                times["wall"][name].append(wall)
                times["cpu"][name].append(cpu)
                losses[name].append(loss)
    flops = epoch_flops(len(x))
    return source, times, losses, flops


def median_ratio(times, a, b):
    return statistics.median(p / q for p, q in zip(times[a], times[b], strict=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="repetitions, at least 5 (medians of fewer say little)")
    parser.add_argument("--warmup", type=int, default=1, help="short warm-up rounds")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=100,
                        help="batches a contender trains before the next one takes its turn")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS (and so torch) to this many threads; by "
                             "default BLAS keeps its own setting")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"expected --repeats of at least 5, got {args.repeats}")

    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        # Kept for the whole run; applies to every BLAS/OpenMP pool numpy loaded.
        limiter = threadpool_limits(args.threads)  # noqa: F841
    threads = blas_threads()
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: the torch column is skipped "
                  "(to add it: pip install torch==2.13.0 on this machine, or your "
                  "platform's CPU build; see benchmarks/README.md).")
    if torch is not None and threads is not None:
        # Same thread count as numpy's BLAS, so neither side gets more cores.
        torch.set_num_threads(threads)
    print(f"numpy {np.__version__}, BLAS threads {threads}"
          + (f"; torch {torch.__version__}, threads {torch.get_num_threads()}" if torch else ""))
    print(f"MLP {'-'.join(map(str, SIZES))} ReLU, batch {args.batch}, SGD lr {args.lr}, "
          f"{args.repeats} interleaved repetitions, medians\n")

    for dtype in (np.dtype(name) for name in args.dtypes.split(",")):
        source, times, losses, flops = run(dtype, args, torch)
        print(f"== {dtype.name}: one epoch of {args.samples} samples ({source}), "
              f"{flops / 1e9:.1f} GFLOP of matrix products ==")
        print(f"{'':8s} {'wall s':>8s} {'min':>7s} {'cpu s':>8s} {'min':>7s} "
              f"{'GFLOP/s':>8s} {'mean loss':>10s}")
        for name in times["wall"]:
            wall, cpu = (statistics.median(times[c][name]) for c in ("wall", "cpu"))
            print(f"{name:8s} {wall:8.3f} {min(times['wall'][name]):7.3f} {cpu:8.3f} "
                  f"{min(times['cpu'][name]):7.3f} {flops / wall / 1e9:8.1f} "
                  f"{statistics.median(losses[name]):10.4f}")
        print("median of per-repetition ratios     wall    cpu")
        pairs = [("netlib / numpy", "netlib", "numpy")]
        if "torch" in times["wall"]:
            pairs.append(("netlib / torch", "netlib", "torch"))
        pairs.append(("roofline fraction (gemm / netlib)", "gemm", "netlib"))
        for label, a, b in pairs:
            print(f"{label:34s} {median_ratio(times['wall'], a, b):6.3f} "
                  f"{median_ratio(times['cpu'], a, b):6.3f}")
        print()


if __name__ == "__main__":
    main()
