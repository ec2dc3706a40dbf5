"""How long training a CNN takes: netlib against PyTorch, side by side in one process.

Two networks, batch 64, float32, softmax cross-entropy, plain SGD:

``fashion``
    The benchmark CNN of ``cnn_fashion_mnist.py`` on Fashion-MNIST images
    (1×28×28): conv 1→16 3×3 pad 1, ReLU, max-pool 2, conv 16→32 3×3 pad 1,
    ReLU, max-pool 2, dense 1568→128, ReLU, dense 128→10.
``cifar``
    A deeper CIFAR-shaped one on synthetic 3×32×32 inputs: three blocks of
    conv 3×3 pad 1 with 64 channels, ReLU, max-pool 2 (32→16→8→4), then
    dense 1024→10.

netlib and torch train from the *same* initial weights on the *same* batches
(the mean training loss printed for each agrees), the loop a user writes:
forward, loss, backward, step. netlib uses ``Sequential.backward_without_input_gradient``
(as ``fit`` does); torch likewise never computes the data's gradient.

A third contender, ``gemm``, is a floor for netlib rather than a rival: the
netlib network with each convolution reduced to its matrix products
(:class:`ConvProducts`: the same BLAS calls on im2col matrices gathered once
and kept in the cache), every other layer, the loss and the step real. It is
what netlib's pass would cost if im2col were free; ``gemm / torch`` above
1.0 means no im2col-plus-BLAS convolution can match torch there.

The driver is ``train_speed.py``'s: a repetition is one pass of every
contender over the samples, ratios are taken inside each repetition and the
median over repetitions is reported, wall and CPU time both. PyTorch runs
its pass in one piece (see ``train_speed.py`` on its thread pool); the order
netlib/torch alternates from repetition to repetition so that neither always
runs first. ``--threads N`` limits numpy's BLAS and torch to ``N`` threads;
by default torch gets as many threads as numpy's BLAS has, or
``--torch-threads``.

``--ops`` times single operations instead (conv forward, conv dW, conv dx,
max-pool forward and backward) at the benchmark networks' shapes, each
against the same torch operation, interleaved the same way.

``--layers`` profiles netlib's training step instead: the wall time of each
layer's forward and backward pass, summed over the pass (the loss and the
SGD step as one more row), to show where an epoch goes.

Run ``python benchmarks/cnn_speed.py --threads 1`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
from train_speed import (
    blas_threads,
    interleaved_epoch,
    median_ratio,
    netlib_sgd_epoch,
    torch_sgd_epoch,
)

from netlib import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from netlib.data import load_fashion_mnist
from netlib.layers.conv import im2col, pad, rot180_kernel

#: Each network: input shape (C, H, W), its conv layers (C_in, C_out) (3×3, pad 1,
#: each followed by ReLU and a 2×2 max-pool), its dense sizes after flattening.
NETWORKS = {
    "fashion": {"input": (1, 28, 28), "convs": [(1, 16), (16, 32)],
                "dense": [32 * 7 * 7, 128, 10], "samples": 2560},
    "cifar": {"input": (3, 32, 32), "convs": [(3, 64), (64, 64), (64, 64)],
              "dense": [64 * 4 * 4, 10], "samples": 640},
}


def load_inputs(network, n, rng):
    """Fashion-MNIST training images (or noise if absent), or synthetic CIFAR-shaped ones."""
    spec = NETWORKS[network]
    if network == "fashion":
        try:
            data = load_fashion_mnist(dtype=np.float32)
            x, y = data.x_train[:n].reshape(-1, *spec["input"]), data.y_train[:n]
            return np.ascontiguousarray(x), y.astype(np.int64), "Fashion-MNIST"
        except FileNotFoundError:
            pass
    x = rng.random((n, *spec["input"]), dtype=np.float32)
    return x, rng.integers(0, 10, n).astype(np.int64), "synthetic uniform"


def initial_weights(network, rng):
    """He-initialised ``(convs, denses)``: conv ``(W (O, C, 3, 3), b)``, dense ``(W (in, out), b)``.
    """
    spec = NETWORKS[network]
    convs = [((np.sqrt(2 / (c * 9)) * rng.standard_normal((o, c, 3, 3))).astype(np.float32),
              np.zeros(o, np.float32)) for c, o in spec["convs"]]
    sizes = spec["dense"]
    denses = [((np.sqrt(2 / i) * rng.standard_normal((i, o))).astype(np.float32),
               np.zeros(o, np.float32)) for i, o in itertools.pairwise(sizes)]
    return convs, denses


def netlib_model(weights, conv=Conv2D):
    """The network in netlib; ``conv`` is the class of its convolutions."""
    convs, denses = weights
    layers = []
    for W, b in convs:
        layers += [conv.from_params(W, b, padding=1), ReLU(), MaxPool2D(2)]
    layers.append(Flatten())
    for index, (W, b) in enumerate(denses):
        layers.append(Dense.from_params(W, b))
        if index < len(denses) - 1:
            layers.append(ReLU())
    return Sequential(layers)


def torch_model(torch, weights):
    convs, denses = weights
    nn, layers = torch.nn, []
    with torch.no_grad():
        for W, b in convs:
            conv = nn.Conv2d(W.shape[1], W.shape[0], 3, padding=1)
            conv.weight.copy_(torch.from_numpy(W))
            conv.bias.copy_(torch.from_numpy(b))
            layers += [conv, nn.ReLU(), nn.MaxPool2d(2)]
        layers.append(nn.Flatten())
        for index, (W, b) in enumerate(denses):
            linear = nn.Linear(*W.shape)
            linear.weight.copy_(torch.from_numpy(W.T.copy()))    # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(denses) - 1:
                layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# -- contenders (generators over chunks, as in train_speed.py) ---------------------------------

def netlib_epoch(weights, x, y, chunks, lr):
    return (yield from netlib_sgd_epoch(netlib_model(weights), x, y, chunks, lr))


class ConvProducts(Conv2D):
    r"""A ``Conv2D`` reduced to its matrix products: the floor of im2col plus BLAS.

    It makes the BLAS calls netlib's convolution makes, block by block and of
    the same shapes (forward :math:`W_\text{mat} X_\text{col}^\top`; dW as
    :math:`X_\text{col}^\top G_\text{mat}^\top` summed over a block's
    samples; dx as the turned kernel times the im2col matrix of the padded
    ``g``), but on one block's im2col matrices gathered once, from the first
    batch it sees: as if im2col cost nothing and its matrices were always in
    the cache. Its output has the right shape and values of the right size,
    so the layers after it do their real work; its kernel gradient is
    computed and dropped (the SGD step sees zeros), so the weights stay put.
    For the benchmark's convolutions only (3×3, stride 1, padding 1: the
    output is as large as the input).
    """

    def _forward(self, x):
        n, o, hw = x.shape[0], self.out_channels, x.shape[2:]
        blocks = self._blocks(self.in_channels, hw, n)
        if not hasattr(self, "_x_cols"):
            self._x_cols = im2col(pad(x[blocks[0]], self.padding), self.kernel_size,
                                  self.stride, hw)
        self._hw = hw
        y = np.empty((n, o, *hw), dtype=x.dtype)
        W_mat, y_mat = self.params["W"].reshape(o, -1), y.reshape(n, o, -1)
        for block in blocks:
            np.matmul(W_mat, self._x_cols[:block.stop - block.start], out=y_mat[block])
        return y

    def _backward(self, g):
        (n, o), c, (kh, kw) = g.shape[:2], self.in_channels, self.kernel_size
        g_mat = g.reshape(n, o, -1)
        dW_t = np.zeros((c * kh * kw, o), dtype=g.dtype)          # computed, then dropped
        for block in self._blocks(c, self._hw, n):
            dW_t += np.matmul(self._x_cols[:block.stop - block.start],
                              g_mat[block].transpose(0, 2, 1)).sum(axis=0)
        if not self.input_gradient:
            return None
        blocks = self._blocks(o, self._hw, n)
        if not hasattr(self, "_g_cols"):
            self._g_cols = im2col(pad(g[blocks[0]], (kh - 1 - self.padding[0],
                                                     kw - 1 - self.padding[1])),
                                  self.kernel_size, (1, 1), self._hw)
        dx = np.empty((n, c, *self._hw), dtype=g.dtype)
        W_rot, dx_mat = rot180_kernel(self.params["W"]).reshape(c, -1), dx.reshape(n, c, -1)
        for block in blocks:
            np.matmul(W_rot, self._g_cols[:block.stop - block.start], out=dx_mat[block])
        return dx


def gemm_epoch(weights, x, y, chunks, lr):
    """netlib's pass with every convolution reduced to its products (:class:`ConvProducts`)."""
    yield from netlib_sgd_epoch(netlib_model(weights, ConvProducts), x, y, chunks, lr)
    return float("nan")                  # the convolutions compute no real values


def make_torch_epoch(torch):
    def torch_epoch(weights, x, y, chunks, lr):
        return (yield from torch_sgd_epoch(torch, torch_model(torch, weights), x, y, chunks,
                                           lr))
    return torch_epoch


def run(network, args, torch):
    rng = np.random.default_rng(args.seed)
    n = args.samples or NETWORKS[network]["samples"]
    x, y, source = load_inputs(network, n, rng)
    order = rng.permutation(len(x))
    batches = [order[start:start + args.batch] for start in range(0, len(x), args.batch)]
    weights = initial_weights(network, rng)
    groups = [{"netlib": netlib_epoch, "gemm": gemm_epoch}]
    if torch is not None:
        groups.append({"torch": make_torch_epoch(torch)})
    names = [name for contenders in groups for name in contenders]
    times = {"wall": {name: [] for name in names}, "cpu": {name: [] for name in names}}
    losses = {name: [] for name in names}
    for _ in range(args.warmup):
        for contenders in groups:
            interleaved_epoch(contenders, weights, x, y, [batches[:5]], args.lr)
    for repeat in range(args.repeats):
        for contenders in (groups if repeat % 2 == 0 else groups[::-1]):
            for name, (wall, cpu, loss) in interleaved_epoch(contenders, weights, x, y,
                                                             [batches], args.lr).items():
                times["wall"][name].append(wall)
                times["cpu"][name].append(cpu)
                losses[name].append(loss)
    return source, len(x), times, losses


def print_network(network, args, torch):
    source, n, times, losses = run(network, args, torch)
    print(f"== {network}: {n} images {NETWORKS[network]['input']} ({source}), "
          f"batch {args.batch} ==")
    print(f"{'':8s} {'wall s':>8s} {'min':>7s} {'cpu s':>8s} {'min':>7s} {'mean loss':>10s}")
    for name in times["wall"]:
        wall, cpu = (statistics.median(times[c][name]) for c in ("wall", "cpu"))
        print(f"{name:8s} {wall:8.3f} {min(times['wall'][name]):7.3f} {cpu:8.3f} "
              f"{min(times['cpu'][name]):7.3f} {statistics.median(losses[name]):10.4f}")
    if "torch" in times["wall"]:
        for name in ("netlib", "gemm"):
            print(f"median of per-repetition ratios {name} / torch: wall "
                  f"{median_ratio(times['wall'], name, 'torch'):.3f}, cpu "
                  f"{median_ratio(times['cpu'], name, 'torch'):.3f}")
    print()


# -- single operations ---------------------------------------------------------------------

#: aten.convolution_backward's arguments after (g, x, W): bias sizes, stride, padding,
#: dilation, transposed, output padding, groups.
CONV_ARGS = ([0], [1, 1], [1, 1], [1, 1], False, [0, 0], 1)


def conv_gradients(layer, g, dx):
    """netlib's conv backward: ``dW`` and ``db``, and ``dx`` if asked."""
    layer.input_gradient = dx
    return layer._backward(g)


def operations(torch, rng):
    """``{label: (netlib thunk, torch thunk)}`` for the profiled operations.

    netlib computes ``dW`` and ``dx`` in one pass over the batch (they share
    each block's im2col matrix), so "dW, db, dx" is timed against torch's
    three gradients together; the dx cost is the difference from "dW, db".
    """
    F, aten = torch.nn.functional, torch.ops.aten
    ops = {}
    for label, n, c, o, hw in (("fashion conv1", 64, 1, 16, 28), ("fashion conv2", 64, 16, 32, 14),
                               ("cifar conv1", 64, 3, 64, 32), ("cifar conv2", 64, 64, 64, 16)):
        x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
        W = rng.standard_normal((o, c, 3, 3), dtype=np.float32)
        b = np.zeros(o, np.float32)
        g = rng.standard_normal((n, o, hw, hw), dtype=np.float32)
        layer = Conv2D.from_params(W, b, padding=1)
        layer.forward(x)
        xt, Wt, bt, gt = (torch.from_numpy(a) for a in (x, W, b, g))
        ops[f"{label} forward"] = (
            lambda layer=layer, x=x: layer._forward(x),
            lambda xt=xt, Wt=Wt, bt=bt: F.conv2d(xt, Wt, bt, padding=1))
        for grads, mask in (("dW, db", [False, True, True]), ("dW, db, dx", [True] * 3)):
            ops[f"{label} {grads}"] = (
                lambda layer=layer, g=g, dx=mask[0]: conv_gradients(layer, g, dx),
                lambda gt=gt, xt=xt, Wt=Wt, mask=mask: aten.convolution_backward(
                    gt, xt, Wt, *CONV_ARGS, mask))
    for label, n, c, hw in (("fashion pool1", 64, 16, 28), ("cifar pool1", 64, 64, 32)):
        x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
        g = rng.standard_normal((n, c, hw // 2, hw // 2), dtype=np.float32)
        pool = MaxPool2D(2)
        pool.forward(x, check_finite_input=False)
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)
        _, indices = F.max_pool2d(xt, 2, return_indices=True)
        ops[f"{label} forward"] = (lambda pool=pool, x=x: pool._forward(x),
                                   lambda xt=xt: F.max_pool2d(xt, 2, return_indices=True))
        ops[f"{label} backward"] = (
            lambda pool=pool, g=g: pool._backward(g),
            lambda gt=gt, xt=xt, indices=indices: aten.max_pool2d_with_indices_backward(
                gt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, indices))
    return ops


def print_operations(args, torch):
    ops = operations(torch, np.random.default_rng(args.seed))
    print(f"{'operation':28s} {'netlib ms':>10s} {'torch ms':>9s} {'ratio':>6s}  (CPU time, "
          f"median of {args.repeats} rounds of {args.calls} calls)")
    for label, (netlib_op, torch_op) in ops.items():
        ratios, spent = [], {"netlib": [], "torch": []}
        netlib_op(), torch_op()                              # warm-up
        for repeat in range(args.repeats):
            pair = [("netlib", netlib_op), ("torch", torch_op)]
            for name, op in (pair if repeat % 2 == 0 else pair[::-1]):
                start = time.process_time()
                for _ in range(args.calls):
                    op()
                spent[name].append((time.process_time() - start) / args.calls * 1e3)
            ratios.append(spent["netlib"][-1] / spent["torch"][-1])
        print(f"{label:28s} {statistics.median(spent['netlib']):10.3f} "
              f"{statistics.median(spent['torch']):9.3f} {statistics.median(ratios):6.2f}")
    print()


def print_layer_profile(network, args):
    """Seconds of each layer's forward and backward pass in one netlib pass over the samples."""
    spec, rng = NETWORKS[network], np.random.default_rng(args.seed)
    n = args.samples or spec["samples"]
    x, y, source = load_inputs(network, n, rng)
    model = netlib_model(initial_weights(network, rng))
    spent = {}

    def timed(layer, index, method):
        inner, key = getattr(layer, method), (index, type(layer).__name__, method)

        def wrapper(value):
            start = time.perf_counter()
            out = inner(value)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
            return out
        return wrapper

    for index, layer in enumerate(model.layers):
        layer._forward = timed(layer, index, "_forward")
        layer._backward = timed(layer, index, "_backward")
    chunks = [[np.arange(start, min(start + args.batch, n))
               for start in range(0, n, args.batch)]]
    for _ in range(args.warmup):
        for _ in netlib_sgd_epoch(model, x, y, chunks, args.lr):
            pass
    spent.clear()
    start = time.perf_counter()
    for _ in netlib_sgd_epoch(model, x, y, chunks, args.lr):
        pass
    total = time.perf_counter() - start
    print(f"== {network}: {n} images {spec['input']} ({source}), batch {args.batch}: "
          f"{total:.3f} s wall ==")
    print(f"{'layer':16s} {'forward ms':>11s} {'backward ms':>12s} {'share':>6s}")
    for index, layer in enumerate(model.layers):
        forward = spent.get((index, type(layer).__name__, "_forward"), 0.0)
        backward = spent.get((index, type(layer).__name__, "_backward"), 0.0)
        print(f"{index:2d} {type(layer).__name__:13s} {forward * 1e3:11.1f} {backward * 1e3:12.1f} "
              f"{(forward + backward) / total:6.1%}")
    rest = total - sum(spent.values())
    print(f"{'loss, SGD, rest':16s} {rest * 1e3:24.1f} {rest / total:6.1%}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default="fashion,cifar")
    parser.add_argument("--repeats", type=int, default=5,
                        help="repetitions, at least 5 (medians of fewer say little)")
    parser.add_argument("--warmup", type=int, default=1, help="short warm-up rounds")
    parser.add_argument("--samples", type=int, default=None,
                        help="images per pass (default: 2560 fashion, 640 cifar)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS and torch to this many threads")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="give torch this many threads instead (e.g. netlib at one "
                             "BLAS thread, its fastest, against torch at two)")
    parser.add_argument("--ops", action="store_true",
                        help="time single operations against torch's instead of training")
    parser.add_argument("--calls", type=int, default=20, help="calls per round with --ops")
    parser.add_argument("--layers", action="store_true",
                        help="profile netlib's training step layer by layer instead")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"expected --repeats of at least 5, got {args.repeats}")

    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(args.threads)  # noqa: F841  (kept for the whole run)
    threads = blas_threads()
    if args.layers:
        print(f"numpy {np.__version__}, BLAS threads {threads}; wall time per layer\n")
        for network in args.networks.split(","):
            print_layer_profile(network, args)
        return
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: only netlib is timed (pip install torch==2.13.0).")
    if torch is not None:
        torch.set_num_threads(args.torch_threads or args.threads or threads
                              or torch.get_num_threads())
    print(f"numpy {np.__version__}, BLAS threads {threads}"
          + (f"; torch {torch.__version__}, threads {torch.get_num_threads()}" if torch else ""))
    if args.ops:
        if torch is None:
            parser.error("--ops needs PyTorch")
        print_operations(args, torch)
        return
    print(f"float32, SGD lr {args.lr}, {args.repeats} repetitions, medians\n")
    for network in args.networks.split(","):
        print_network(network, args, torch)


if __name__ == "__main__":
    main()
