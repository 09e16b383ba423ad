"""A small Hyena-style sequence model in numpy + fastconv, trained two ways.

``--task text``: a character-level language model on Python's own standard
library source (the ``.py`` files next to ``os``; held-out files for
validation), reporting bits per character against a bigram model, and
sampling text with the streaming decoder (``fastconv.nn.LongConvDecoder`` and
``causal_conv1d_update``: one token at a time, the same numbers as the batch
forward pass, checked here).
``--task recall``: associative recall (H3/Hyena papers): a sequence of
key-value pairs then a query key; predict its value.

Each block: ``z = W_in x``; a short causal filter on ``z``
(``causal_conv1d``, width 3); ``v, a, c = split(z)``; ``q = long_conv(v * a,
k, skip=D)`` with an explicit kernel as long as the sequence; ``x += W_out
(q * c)``.  Gradients by hand (``fastconv.nn.grad``), Adam.  Figures:
``--out`` writes ``hyena_<task>_loss.png`` (log10 of the training loss).
"""
import argparse
import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from fastconv import nn  # noqa: E402
from fastconv.nn import grad as G  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_cnn_digits import line_plot, save_png  # noqa: E402

F32 = np.float32


class Model:
    """Embedding, ``layers`` Hyena blocks, a linear head; parameters in a dict."""

    def __init__(self, vocab, width, length, layers, rng):
        D = width
        s = 1 / np.sqrt(D)
        self.p = {"E": rng.standard_normal((vocab, D)) * 0.5,
                  "Wh": rng.standard_normal((vocab, D)) * s, "bh": np.zeros(vocab)}
        t = np.arange(length)
        for i in range(layers):
            decay = np.exp(np.linspace(np.log(1e-3), np.log(0.3), D))[:, None]
            self.p.update({
                f"Wi{i}": rng.standard_normal((3 * D, D)) * s, f"bi{i}": np.zeros(3 * D),
                f"ws{i}": rng.standard_normal((3 * D, 3)) * 0.3 + np.array([0, 0, 1.0]),
                f"bs{i}": np.zeros(3 * D),
                f"k{i}": rng.standard_normal((D, length)) * np.exp(-decay * t) * 0.3,
                f"d{i}": np.ones(D),
                f"Wo{i}": rng.standard_normal((D, D)) * s * 0.5, f"bo{i}": np.zeros(D)})
        self.p = {n: v.astype(F32) for n, v in self.p.items()}
        self.layers, self.D = layers, D

    def forward(self, tokens):
        """Logits (B, L, V) and what backward needs."""
        p = self.p
        x = np.ascontiguousarray(p["E"][tokens].transpose(0, 2, 1))       # (B, D, L)
        cache = []
        for i in range(self.layers):
            D = self.D
            z = np.einsum("cd,bdl->bcl", p[f"Wi{i}"], x) + p[f"bi{i}"][:, None]
            zc = nn.causal_conv1d(z, p[f"ws{i}"], p[f"bs{i}"])
            v, a, c = zc[:, :D], zc[:, D:2 * D], zc[:, 2 * D:]
            pv = v * a
            q = nn.long_conv(pv, p[f"k{i}"], skip=p[f"d{i}"])
            r = q * c
            o = np.einsum("dc,bcl->bdl", p[f"Wo{i}"], r) + p[f"bo{i}"][:, None]
            cache.append((x, z, zc, pv, q, r))
            x = x + o
        logits = np.einsum("vd,bdl->blv", p["Wh"], x) + p["bh"]
        return logits, (tokens, x, cache)

    def backward(self, dlogits, saved):
        p = self.p
        tokens, h, cache = saved
        g = {"Wh": np.einsum("blv,bdl->vd", dlogits, h), "bh": dlogits.sum((0, 1))}
        dx = np.einsum("vd,blv->bdl", p["Wh"], dlogits)
        for i in reversed(range(self.layers)):
            D = self.D
            x, z, zc, pv, q, r = cache[i]
            v, a, c = zc[:, :D], zc[:, D:2 * D], zc[:, 2 * D:]
            g[f"Wo{i}"] = np.einsum("bdl,bcl->dc", dx, r)
            g[f"bo{i}"] = dx.sum((0, 2))
            dr = np.einsum("dc,bdl->bcl", p[f"Wo{i}"], dx)
            dq, dc = dr * c, dr * q
            dp, g[f"k{i}"], g[f"d{i}"] = G.long_conv(dq, pv, p[f"k{i}"], skip=p[f"d{i}"])
            dzc = np.concatenate([dp * a, dp * v, dc], axis=1)
            dz, g[f"ws{i}"], g[f"bs{i}"] = G.causal_conv1d(dzc, z, p[f"ws{i}"], p[f"bs{i}"])
            g[f"Wi{i}"] = np.einsum("bcl,bdl->cd", dz, x)
            g[f"bi{i}"] = dz.sum((0, 2))
            dx = dx + np.einsum("cd,bcl->bdl", p[f"Wi{i}"], dz)
        dE = np.zeros_like(p["E"])
        np.add.at(dE, tokens, dx.transpose(0, 2, 1))
        g["E"] = dE
        return g

    def decoder(self):
        """Token-by-token state: per block the short filter's last inputs and
        the long convolution's stream decoder."""
        return [{"state": None, "long": nn.LongConvDecoder(self.p[f"k{i}"], skip=self.p[f"d{i}"])}
                for i in range(self.layers)]

    def step(self, token, dec):
        """Logits (B, V) for one token per sequence (B,), advancing ``dec``."""
        p = self.p
        x = p["E"][token]                                                 # (B, D)
        for i, st in enumerate(dec):
            D = self.D
            z = x @ p[f"Wi{i}"].T + p[f"bi{i}"]
            if st["state"] is None:
                st["state"] = np.zeros((len(token), 3 * D, 2), F32)
            zc = nn.causal_conv1d_update(z, st["state"], p[f"ws{i}"], p[f"bs{i}"])
            v, a, c = zc[:, :D], zc[:, D:2 * D], zc[:, 2 * D:]
            q = st["long"].step(v * a)
            x = x + (q * c) @ p[f"Wo{i}"].T + p[f"bo{i}"]
        return x @ p["Wh"].T + p["bh"]


class Adam:
    def __init__(self, params, lr=3e-3, b1=0.9, b2=0.99, eps=1e-8, clip=1.0):
        self.m = {n: np.zeros_like(v) for n, v in params.items()}
        self.v = {n: np.zeros_like(v) for n, v in params.items()}
        self.lr, self.b1, self.b2, self.eps, self.clip, self.t = lr, b1, b2, eps, clip, 0

    def update(self, params, grads, lr=None):
        self.t += 1
        norm = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values()))
        scale = min(1.0, self.clip / (norm + 1e-12))
        for n, g in grads.items():
            g = g * scale
            self.m[n] = self.b1 * self.m[n] + (1 - self.b1) * g
            self.v[n] = self.b2 * self.v[n] + (1 - self.b2) * g * g
            mh = self.m[n] / (1 - self.b1 ** self.t)
            vh = self.v[n] / (1 - self.b2 ** self.t)
            params[n] -= ((lr or self.lr) * mh / (np.sqrt(vh) + self.eps)).astype(F32)


def cross_entropy(logits, targets, mask=None):
    """Mean loss (nats) and its gradient w.r.t. the logits."""
    z = logits - logits.max(-1, keepdims=True)
    e = np.exp(z)
    s = e.sum(-1, keepdims=True)
    logp = z - np.log(s)
    w = np.ones(targets.shape, F32) if mask is None else mask.astype(F32)
    n = w.sum()
    loss = -(np.take_along_axis(logp, targets[..., None], -1)[..., 0] * w).sum() / n
    d = e / s
    np.put_along_axis(d, targets[..., None], np.take_along_axis(d, targets[..., None], -1) - 1, -1)
    return float(loss), (d * (w / n)[..., None]).astype(F32)


# ------------------------------------------------------------------ text
def stdlib_text(max_chars):
    """Python's own standard library source, as shipped with the interpreter."""
    files = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))
    rng = np.random.default_rng(0)
    rng.shuffle(files)
    train, val = [], []
    for i, f in enumerate(files):
        try:
            with open(f, encoding="utf-8") as fh:
                s = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        s = "".join(ch for ch in s if 32 <= ord(ch) < 127 or ch == "\n")
        (val if i % 10 == 0 else train).append(s)
        if sum(map(len, train)) > max_chars:
            break
    return "\n".join(train), "\n".join(val)[:max_chars // 8]


def bigram_bits(train, val, chars):
    idx = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    counts = np.ones((V, V))
    t = np.array([idx[c] for c in train])
    np.add.at(counts, (t[:-1], t[1:]), 1)
    prob = counts / counts.sum(1, keepdims=True)
    v = np.array([idx.get(c, 0) for c in val])
    return float(-np.log2(prob[v[:-1], v[1:]]).mean())


def run_text(args, rng):
    train, val = stdlib_text(args.chars)
    chars = sorted(set(train))
    idx = {c: i for i, c in enumerate(chars)}
    tr = np.array([idx[c] for c in train], np.int64)
    va = np.array([idx.get(c, 0) for c in val], np.int64)
    L = args.length
    model = Model(len(chars), args.width, L, args.layers, rng)
    opt = Adam(model.p, lr=args.lr)
    losses = []
    t0 = time.perf_counter()
    for step in range(args.steps):
        starts = rng.integers(0, len(tr) - L - 1, args.batch)
        seq = np.stack([tr[s:s + L + 1] for s in starts])
        logits, saved = model.forward(seq[:, :-1])
        loss, d = cross_entropy(logits, seq[:, 1:])
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.5 * (1 + np.cos(np.pi * step / args.steps)))
        opt.update(model.p, model.backward(d, saved), lr)
        losses.append(loss)
        if step % max(1, args.steps // 10) == 0:
            print(f"step {step:5d} loss {loss / np.log(2):.3f} bits/char")
    train_s = time.perf_counter() - t0
    # held-out bits per character
    n = (len(va) - 1) // L
    seqs = np.stack([va[i * L:i * L + L + 1] for i in range(min(n, 64))])
    bits = 0.0
    for b in range(0, len(seqs), 16):
        logits, _ = model.forward(seqs[b:b + 16, :-1])
        bits += cross_entropy(logits, seqs[b:b + 16, 1:])[0] / np.log(2) * len(seqs[b:b + 16])
    bits /= len(seqs)
    big = bigram_bits(train, val, chars)
    print(f"held-out: {bits:.3f} bits/char (bigram model {big:.3f}); {args.steps} steps in "
          f"{train_s:.1f} s; {sum(v.size for v in model.p.values())} parameters")
    # the streaming decoder reproduces the batch forward pass
    check = va[:L][None]
    want = model.forward(check)[0][0]
    dec = model.decoder()
    got = np.stack([model.step(check[:, t], dec)[0] for t in range(L)])
    err = float(np.abs(got - want).max() / (np.abs(want).max() + 1e-12))
    print(f"streaming decoder vs batch forward over {L} tokens: max relative difference {err:.1e}")
    # sample
    dec = model.decoder()
    prompt = "def "
    out = list(prompt)
    tok = None
    for ch in prompt:
        logit = model.step(np.array([idx[ch]]), dec)
    for _ in range(args.sample):
        z = logit[0] / 0.7
        pr = np.exp(z - z.max())
        tok = int(rng.choice(len(chars), p=pr / pr.sum()))
        out.append(chars[tok])
        logit = model.step(np.array([tok]), dec)
    print("sample:\n" + "".join(out))
    return losses, {"bits_per_char": bits, "bigram_bits": big, "decoder_error": err,
                    "seconds": train_s}


# ---------------------------------------------------------------- recall
def recall_batch(rng, B, pairs, keys, values):
    """Key-value pairs then a query key: tokens 0..keys-1 are keys, keys..keys+values-1
    values; the target at the last position is the value paired with the query."""
    seq = np.zeros((B, 2 * pairs + 1), np.int64)
    target = np.zeros(B, np.int64)
    for b in range(B):
        ks = rng.choice(keys, pairs, replace=False)
        vs = rng.integers(0, values, pairs) + keys
        seq[b, 0:2 * pairs:2] = ks
        seq[b, 1:2 * pairs:2] = vs
        q = rng.integers(0, pairs)
        seq[b, -1] = ks[q]
        target[b] = vs[q]
    return seq, target


def run_recall(args, rng):
    keys, values, pairs = 16, 16, args.pairs
    L = 2 * pairs + 1
    model = Model(keys + values, args.width, L, args.layers, rng)
    opt = Adam(model.p, lr=args.lr)
    losses = []
    mask = np.zeros((args.batch, L), bool)
    mask[:, -1] = True
    t0 = time.perf_counter()
    for step in range(args.steps):
        seq, target = recall_batch(rng, args.batch, pairs, keys, values)
        logits, saved = model.forward(seq)
        tgt = np.zeros_like(seq)
        tgt[:, -1] = target
        loss, d = cross_entropy(logits, tgt, mask)
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.5 * (1 + np.cos(np.pi * step / args.steps)))
        opt.update(model.p, model.backward(d, saved), lr)
        losses.append(loss)
        if step % max(1, args.steps // 10) == 0:
            print(f"step {step:5d} loss {loss:.3f}")
    seq, target = recall_batch(rng, 1000, pairs, keys, values)
    acc = float((model.forward(seq)[0][:, -1].argmax(-1) == target).mean())
    print(f"associative recall, {pairs} pairs (sequence length {L}), {keys} keys x {values} "
          f"values: accuracy {acc:.3f} on 1000 new sequences (chance {1 / values:.3f}); "
          f"{args.steps} steps in {time.perf_counter() - t0:.1f} s")
    return losses, {"accuracy": acc, "length": L}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=["text", "recall"], default="text")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--chars", type=int, default=2_000_000)
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--sample", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write hyena_<task>_loss.png here")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    losses, figures = (run_text if args.task == "text" else run_recall)(args, rng)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        sm = np.convolve(losses, np.ones(10) / 10, mode="valid") if len(losses) > 20 else losses
        path = os.path.join(args.out, f"hyena_{args.task}_loss.png")
        save_png(path, line_plot(np.log10(np.maximum(sm, 1e-6))))
        print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
