"""fastconv demo: filter a generated image and a generated signal.

Writes the results to an output folder (PGM images and .npy arrays, no extra
dependencies) and prints the plan the planner chose for each, and why.
Run it with ``make demo``.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastconv  # noqa: E402


def make_image(n=512, seed=0):
    """A test card: discs, bars and a gradient, with a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = 0.4 * xx
    for cx, cy, r in [(0.3, 0.3, 0.12), (0.7, 0.35, 0.08), (0.5, 0.72, 0.15)]:
        img += ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) * 0.5
    img += ((xx * 16).astype(int) % 2) * (yy > 0.9) * 0.3
    return (img + 0.05 * rng.standard_normal((n, n))).astype(np.float32)


def make_signal(n=200_000, fs=48_000.0, seed=1):
    """A chirp in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    return np.sin(2 * np.pi * (200 + 100 * t) * t) + 0.5 * rng.standard_normal(n)


def write_pgm(path, img):
    """8-bit PGM, written atomically (temp file, then rename)."""
    lo, hi = float(np.min(img)), float(np.max(img))
    u8 = np.clip((img - lo) / (hi - lo + 1e-12) * 255 + 0.5, 0, 255).astype(np.uint8)
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (u8.shape[1], u8.shape[0]))
        f.write(u8.tobytes())
    os.replace(tmp, path)


def save_npy(path, arr):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".npy")
    with os.fdopen(fd, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)


def gaussian(sigma, radius=None):
    radius = radius or int(3 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return g / g.sum()


def timed(label, fn, *args, **kw):
    p = fastconv.plan(*args, **kw)
    fn(*args, **kw)  # first call: JIT load from cache / compile
    t0 = time.perf_counter()
    y = fn(*args, **kw)
    dt = time.perf_counter() - t0
    print(f"\n== {label}: {dt * 1e3:.2f} ms, method {p.method}")
    print(p.explain())
    return y


def audio_demo(out):
    """Reverb through a synthetic room (streamed CLI) and the room's IR measured back."""
    from fastconv import cli, lti
    from fastconv.io import wav as _wav
    from fastconv.lti import synthetic_room

    fs = 48000
    t = np.arange(4 * fs) / fs
    dry = 0.4 * np.sin(2 * np.pi * 440 * t) * (t % 1.0 < 0.15)     # four tone bursts
    dry[::fs // 2] += 0.8                                           # and clicks
    w = _wav.WavWriter(os.path.join(out, "dry.wav"), fs, 1, "int", 2)
    w.write(dry[:, None])
    w.close()
    ir_path, wet_path = os.path.join(out, "ir.wav"), os.path.join(out, "wet.wav")
    cli.main(["ir", "--synthetic", "room", "-o", ir_path, "--fs", str(fs)])
    t0 = time.perf_counter()
    cli.main(["reverb", os.path.join(out, "dry.wav"), "--ir", ir_path, "-o", wet_path,
              "--mix", "0.35", "--quiet"])
    print(f"reverb: {time.perf_counter() - t0:.2f} s for {dry.size / fs:.0f} s of audio")
    # measure the room back with an exponential sweep, through noise
    room = synthetic_room(fs, 1.2, 0.7, 1, seed=0)[:, 0]
    sweep, inverse = lti.exponential_sweep(20, fs / 2, 3.0, fs)
    rng = np.random.default_rng(3)
    recording = fastconv.convolve(sweep, room) + 1e-4 * rng.standard_normal(sweep.size + room.size - 1)
    est = lti.measure_impulse_response(sweep, recording, length=room.size)
    snr = 10 * np.log10(np.sum(room ** 2) / np.sum((est - room) ** 2))
    print(f"impulse response measured from a 3 s sweep: {snr:.1f} dB SNR against the true room")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(f"fastconv {fastconv.__version__}, {fastconv.get_threads()} threads")

    img = make_image()
    blur_k = np.outer(gaussian(3.0), gaussian(3.0)).astype(np.float32)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float32)
    blurred = timed("image blur (19x19 Gaussian, reflect)", fastconv.convolve, img, blur_k,
                    mode="same", boundary="symmetric")
    gx = timed("image edges (Sobel x)", fastconv.convolve, img, sobel, mode="same",
               boundary="edge")
    gy = fastconv.convolve(img, sobel.T, mode="same", boundary="edge")
    edges = np.hypot(gx, gy)
    write_pgm(os.path.join(args.out, "image.pgm"), img)
    write_pgm(os.path.join(args.out, "image_blurred.pgm"), blurred)
    write_pgm(os.path.join(args.out, "image_edges.pgm"), edges)

    sig = make_signal()
    lowpass = gaussian(4.0)                  # 25-tap Gaussian smoother
    smooth = timed("signal smoothing (25 taps)", fastconv.convolve, sig, lowpass, mode="same")
    reverb = np.random.default_rng(2).standard_normal(24_000) * np.exp(-np.arange(24_000) / 4000)
    wet = timed("signal through a 0.5 s impulse response", fastconv.convolve, sig, reverb)
    save_npy(os.path.join(args.out, "signal.npy"), sig)
    save_npy(os.path.join(args.out, "signal_smooth.npy"), smooth)
    save_npy(os.path.join(args.out, "signal_reverb.npy"), wet)
    clean = make_signal(seed=1) - 0.5 * np.random.default_rng(1).standard_normal(sig.size)
    print(f"\nerror vs the clean chirp, before/after smoothing: "
          f"{np.std(sig - clean):.3f} -> {np.std(smooth - clean):.3f}")
    audio_demo(args.out)
    try:                                     # the README's deblur picture (issue 4)
        import image_gallery

        t0 = time.perf_counter()
        image_gallery.deblur(args.out)
        image_gallery.template_match(args.out)
        print(f"image gallery (deblur, template match): {time.perf_counter() - t0:.2f} s")
    except ImportError as exc:
        print(f"image gallery skipped ({exc}); pip install 'fastconv[image]'")
    print(f"wrote {sorted(os.listdir(args.out))} to {args.out}/")


if __name__ == "__main__":
    main()
