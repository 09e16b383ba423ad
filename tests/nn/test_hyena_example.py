"""examples/hyena.py: its hand-written gradients against finite differences
(a tiny model, float64 arithmetic checked in float32 with a loose bound),
the streaming decoder against the batch forward pass, and a short training
run on each task that must beat its baseline."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
hyena = pytest.importorskip("hyena")


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    m = hyena.Model(vocab=7, width=4, length=9, layers=2, rng=rng)
    m.p = {n: v.astype(np.float64) for n, v in m.p.items()}
    tokens = rng.integers(0, 7, (2, 9))
    targets = rng.integers(0, 7, (2, 9))
    logits, saved = m.forward(tokens)
    _, d = hyena.cross_entropy(logits, targets)
    g = m.backward(d.astype(np.float64), saved)
    eps = 1e-5
    for name in ["E", "Wh", "Wi0", "ws0", "bs0", "k0", "d0", "Wo1", "k1", "bi1"]:
        P = m.p[name]
        for _ in range(3):
            idx = tuple(rng.integers(0, s) for s in P.shape)
            old = P[idx]
            P[idx] = old + eps
            lp = hyena.cross_entropy(m.forward(tokens)[0], targets)[0]
            P[idx] = old - eps
            lm = hyena.cross_entropy(m.forward(tokens)[0], targets)[0]
            P[idx] = old
            num = (lp - lm) / (2 * eps)
            assert abs(num - g[name][idx]) < 1e-4 * (1 + abs(num)), (name, idx, num, g[name][idx])


def test_decoder_matches_batch_forward():
    rng = np.random.default_rng(2)
    m = hyena.Model(vocab=11, width=8, length=40, layers=2, rng=rng)
    tokens = rng.integers(0, 11, (3, 40))
    want = m.forward(tokens)[0]
    dec = m.decoder()
    got = np.stack([m.step(tokens[:, t], dec) for t in range(40)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_short_runs_learn():
    text = hyena.main(["--task", "text", "--steps", "250", "--chars", "300000", "--sample", "10",
                       "--width", "32"])
    assert text["bits_per_char"] < text["bigram_bits"]             # measured 3.38 vs 3.46
    assert text["decoder_error"] < 1e-4
    recall = hyena.main(["--task", "recall", "--steps", "300", "--pairs", "4"])
    assert recall["accuracy"] > 2.5 / 16                          # chance 1/16; measured 0.26
