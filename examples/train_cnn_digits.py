"""Train a small LeNet-style CNN on scikit-learn's 8x8 handwritten digits with
numpy and fastconv.nn alone.

Two convolution layers (fastconv.nn.Conv2d: forward and backward), and the
rest written here in a few lines each: ReLU, 2x2 max pooling, a dense layer,
softmax cross-entropy and the Adam optimiser.  The digits ship with
scikit-learn (an optional example dependency; nothing is downloaded).
Prints the training time and the test accuracy; with ``--out DIR`` writes
``loss.png`` (log10 of the training loss per epoch) and ``filters.png`` (the first
layer's learned 3x3 filters).

    python examples/train_cnn_digits.py [--epochs 30] [--out DIR]
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from fastconv import nn  # noqa: E402


def relu(x):
    return np.maximum(x, 0)


def pool_forward(x):
    """2x2 max pooling; returns the output and the argmax mask for backward."""
    N, C, H, W = x.shape
    blocks = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    blocks = blocks.reshape(N, C, H // 2, W // 2, 4)
    idx = blocks.argmax(axis=-1)
    mask = np.zeros_like(blocks)
    np.put_along_axis(mask, idx[..., None], 1, axis=-1)
    return np.take_along_axis(blocks, idx[..., None], -1)[..., 0], mask


def pool_backward(g, mask):
    N, C, h, w, _ = mask.shape
    gb = mask * g[..., None]
    return gb.reshape(N, C, h, w, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, 2 * h, 2 * w)


def softmax_cross_entropy(z, y):
    """Mean loss and its gradient with respect to the logits ``z``."""
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-12))
    p[np.arange(n), y] -= 1
    return loss, p / n


class Adam:
    def __init__(self, params, lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            p -= self.lr * mh / (np.sqrt(vh) + self.eps)


class Net:
    """conv 1->16 3x3 -> ReLU -> pool -> conv 16->32 3x3 -> ReLU -> pool -> dense 128->10."""

    def __init__(self, rng):
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, rng=rng)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1, rng=rng)
        bound = 1 / np.sqrt(128)
        self.W = rng.uniform(-bound, bound, (128, 10)).astype(np.float32)
        self.b = np.zeros(10, np.float32)

    def params(self):
        return [self.c1.weight, self.c1.bias, self.c2.weight, self.c2.bias, self.W, self.b]

    def forward(self, x):
        self.a1 = self.c1.forward(x)
        h1, self.m1 = pool_forward(relu(self.a1))
        self.a2 = self.c2.forward(h1)
        h2, self.m2 = pool_forward(relu(self.a2))
        self.f = h2.reshape(len(x), -1)
        return self.f @ self.W + self.b

    def backward(self, gz):
        gW, gb = self.f.T @ gz, gz.sum(axis=0)
        g = (gz @ self.W.T).reshape(len(gz), 32, 2, 2)
        g = pool_backward(g, self.m2) * (self.a2 > 0)
        g = self.c2.backward(g)
        g = pool_backward(g, self.m1) * (self.a1 > 0)
        self.c1.backward(g)
        return [self.c1.weight_grad, self.c1.bias_grad, self.c2.weight_grad, self.c2.bias_grad,
                gW, gb]


def line_plot(values, h=160, w=320):
    """The values as a white polyline on black (an 8-bit image, no plotting library)."""
    img = np.zeros((h, w), np.uint8)
    v = np.asarray(values, float)
    lo, hi = v.min(), v.max()
    xs = np.linspace(4, w - 5, len(v))
    ys = (h - 5) - (v - lo) / (hi - lo + 1e-12) * (h - 10)
    for i in range(len(v) - 1):
        for t in np.linspace(0, 1, 64):
            x = int(round(xs[i] + t * (xs[i + 1] - xs[i])))
            y = int(round(ys[i] + t * (ys[i + 1] - ys[i])))
            img[max(y - 1, 0):y + 2, x] = 255
    return img


def filter_tiles(w, scale=16, gap=4, cols=8):
    """First-layer filters (C, 1, 3, 3) as a grid of enlarged gray tiles."""
    t = 3 * scale
    rows = -(-len(w) // cols)
    img = np.full((rows * (t + gap) - gap, cols * (t + gap) - gap), 0.5)   # gray gaps
    for i, f in enumerate(w[:, 0]):
        r, c = divmod(i, cols)
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        img[r * (t + gap):r * (t + gap) + t, c * (t + gap):c * (t + gap) + t] = \
            np.kron(f, np.ones((scale, scale)))
    return (img * 255).astype(np.uint8)


def save_png(path, img):
    import imageio.v3 as iio

    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".png")
    os.close(fd)
    try:
        iio.imwrite(tmp, img)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", help="write loss.png and filters.png here")
    args = ap.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("this example needs scikit-learn (pip install '.[examples]')")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]         # (1797, 1, 8, 8)
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    n_test = len(x) // 4
    test, train = order[:n_test], order[n_test:]
    net = Net(rng)
    opt = Adam(net.params())
    losses = []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        perm = rng.permutation(train)
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            loss, gz = softmax_cross_entropy(net.forward(x[idx]), y[idx])
            opt.step(net.params(), net.backward(gz.astype(np.float32)))
            total += loss * len(idx)
        losses.append(total / len(perm))
    took = time.perf_counter() - t0
    acc = np.mean(net.forward(x[test]).argmax(axis=1) == y[test])
    print(f"trained {args.epochs} epochs on {len(train)} digits in {took:.1f} s; "
          f"final loss {losses[-1]:.4f}; test accuracy {acc * 100:.1f}% on {len(test)} digits")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_png(os.path.join(args.out, "loss.png"), line_plot(np.log10(losses)))
        save_png(os.path.join(args.out, "filters.png"), filter_tiles(net.c1.weight))
        print(f"wrote {args.out}/loss.png and {args.out}/filters.png")
    return acc


if __name__ == "__main__":
    main()
