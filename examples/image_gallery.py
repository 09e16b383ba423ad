"""The README's image pictures: edges, blur/sharpen, NaN interpolation,
template matching, blur then deblur.

Uses scikit-image's bundled sample images when scikit-image is installed
(`make demo` installs it) and a generated test card otherwise; nothing is
downloaded.  Each picture is a row of panels (input, then results) written
as an 8-bit PNG, atomically.

    python examples/image_gallery.py --out docs/images
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import fastconv  # noqa: E402
from fastconv import feature, filters, restoration  # noqa: E402


def sample(name="camera"):
    try:
        import skimage.data

        return getattr(skimage.data, name)()
    except Exception:                    # no scikit-image: a generated test card
        n = 512
        yy, xx = np.mgrid[0:n, 0:n] / n
        img = 0.3 + 0.3 * xx
        for cx, cy, r in [(0.3, 0.3, 0.12), (0.7, 0.35, 0.08), (0.5, 0.72, 0.15)]:
            img += ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) * 0.35
        img += ((xx * 24).astype(int) % 2) * (yy > 0.88) * 0.2
        return np.clip(img * 255, 0, 255).astype(np.uint8)


def to_u8(a, lo=None, hi=None):
    a = np.asarray(a, dtype=np.float64)
    lo = np.nanmin(a) if lo is None else lo
    hi = np.nanmax(a) if hi is None else hi
    u = np.clip((a - lo) / (hi - lo + 1e-12) * 255 + 0.5, 0, 255)
    return np.where(np.isnan(u), 0, u).astype(np.uint8)


def panel(*imgs, gap=6, step=2):
    imgs = [i[::step, ::step] for i in imgs]      # half size keeps the README light
    h = max(i.shape[0] for i in imgs)
    rgb = [np.repeat(i[..., None], 3, -1) if i.ndim == 2 else i for i in imgs]
    parts = []
    for i, im in enumerate(rgb):
        pad = np.full((h, im.shape[1], 3), 255, np.uint8)
        pad[:im.shape[0]] = im
        parts.append(pad)
        if i < len(rgb) - 1:
            parts.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=1)


def save(path, img):
    import imageio.v3 as iio

    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".png")
    os.close(fd)
    iio.imwrite(tmp, img)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    print("wrote", path)


def edges(out):
    img = sample("camera")
    mag = filters.edges(img, "sobel")
    lap = filters.filter(img.astype(np.float32), filters.log_kernel(2.0))
    save(os.path.join(out, "edges.png"), panel(img, to_u8(mag, 0, np.percentile(mag, 99.5)),
                                               to_u8(-lap, 0, np.percentile(-lap, 99.5))))


def blur_sharpen(out):
    img = sample("astronaut")
    blur = filters.gaussian(img, 4.0, channel_axis=-1)
    sharp = filters.filter(img, filters.unsharp_kernel(2.0, 1.5), channel_axis=-1)
    motion = filters.filter(img, filters.motion_kernel(31, 30), channel_axis=-1)
    save(os.path.join(out, "blur_sharpen.png"), panel(img, blur, sharp, motion))


def nan_interpolation(out):
    img = sample("moon").astype(np.float64)
    rng = np.random.default_rng(0)
    holes = img.copy()
    holes[rng.random(img.shape) < 0.5] = np.nan                 # half the pixels lost
    for cy, cx in [(150, 200), (350, 300)]:
        holes[cy - 7:cy + 7, cx - 30:cx + 30] = np.nan          # and two scratches
    fixed = fastconv.convolve(holes, filters.gaussian_kernel(2.0), mode="same",
                              boundary="symmetric", nan_policy="interpolate",
                              normalize_kernel=True)
    save(os.path.join(out, "nan_interpolation.png"),
         panel(img.astype(np.uint8), to_u8(holes, 0, 255), to_u8(fixed, 0, 255)))


def template_match(out):
    img = sample("coins")
    t = img[170:220, 75:125]                                   # one coin
    score = feature.match_template(img, t, pad_input=True)
    shown = np.repeat(img[..., None], 3, -1).copy()
    for (r, c), s in feature.best_matches(score, 8, min_distance=20, threshold=0.6):
        r0, c0 = r - t.shape[0] // 2, c - t.shape[1] // 2
        for rr, cc in ((slice(r0, r0 + 2), slice(c0, c0 + 50)),
                       (slice(r0 + 48, r0 + 50), slice(c0, c0 + 50)),
                       (slice(r0, r0 + 50), slice(c0, c0 + 2)),
                       (slice(r0, r0 + 50), slice(c0 + 48, c0 + 50))):
            shown[rr, cc] = (255, 40, 40)
    save(os.path.join(out, "template_match.png"), panel(t, to_u8(score, -1, 1), shown, step=1))


def deblur(out):
    img = sample("camera").astype(np.float64) / 255
    psf = filters.gaussian_kernel(3.0)
    psf /= psf.sum()
    blurred = fastconv.convolve(img, psf, mode="same", boundary="symmetric")
    noisy = blurred + 0.003 * np.random.default_rng(1).standard_normal(img.shape)
    rl = restoration.richardson_lucy(np.clip(noisy, 0, 1), psf, 30, accelerate=True)
    wi = restoration.wiener(noisy, psf, 0.01)
    save(os.path.join(out, "deblur.png"), panel(*(to_u8(a, 0, 1) for a in (img, noisy, rl, wi))))


ALL = {"edges": edges, "blur_sharpen": blur_sharpen, "nan_interpolation": nan_interpolation,
       "template_match": template_match, "deblur": deblur}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/images")
    ap.add_argument("--only", choices=sorted(ALL), action="append")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or ALL:
        ALL[name](args.out)


if __name__ == "__main__":
    main()
