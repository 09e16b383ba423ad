"""Image commands: filter, deblur, match."""
from __future__ import annotations

import os

import numpy as np

from .._config import max_memory
from ._common import (IMAGE_EXTENSIONS, MAX_PIXELS, CLIError, atomic_write, check_output,
                      read_image, write_image)


# -------------------------------------------------------------- helpers
def _split_alpha(img):
    """(colour, alpha or None, channel_axis) for HxW, HxWx1..4 images."""
    if img.ndim == 2:
        return img, None, None
    c = img.shape[-1]
    if c in (2, 4):
        return img[..., :-1], img[..., -1:], -1
    return img, None, -1


def _join_alpha(colour, alpha):
    if alpha is None:
        return colour
    return np.concatenate([colour, alpha.astype(colour.dtype)], axis=-1)


def _to_unit(img):
    """Float image in [0, 1] (integers by their dtype's range) and the scale."""
    if img.dtype.kind in "ui":
        scale = float(np.iinfo(img.dtype).max)
        return img.astype(np.float32 if img.dtype.itemsize == 1 else np.float64) / scale, scale
    if img.dtype == np.bool_:
        return img.astype(np.float32), 1.0
    return img.astype(np.float64 if img.dtype == np.float64 else np.float32), 1.0


def _from_unit(f, dtype, scale):
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(f * scale), info.min, info.max).astype(dtype)
    return f.astype(dtype)


def _kernel(spec):
    from .. import filters

    try:
        return filters.kernel(spec)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--kernel {spec!r}: {exc}") from None


_MAGNITUDE = ("sobel", "scharr", "prewitt")


def _tiled_filter(x, args, name):
    """The filter of ``cmd_filter`` on a dask array (H x W or H x W x C):
    float sums in the in-memory filter's compute dtype, integers rounded and
    saturated to the image dtype, sobel/scharr/prewitt the gradient
    magnitude; a fourth channel (alpha) passes through as in memory."""
    import dask.array as da

    from .. import dask as fdask
    from .. import filters

    if x.ndim not in (2, 3) or x.dtype.kind not in "uif":
        raise CLIError(f"{args.input}: expected a 2-D image or H x W x C channels of numbers, "
                       f"got {x.shape} {x.dtype}")
    boundary = filters._check_mode(args.mode)
    k = None if name in _MAGNITUDE else _kernel(args.kernel)
    alpha = None
    if x.ndim == 3 and x.shape[2] in (2, 4):      # grey + alpha, RGBA: as in memory
        x, alpha = x[..., :-1], x[..., -1:]
    cd = filters._compute_dtype(x.dtype)     # the in-memory filter's compute dtype
    xf = x.astype(cd)

    def corr(k2):
        k2 = np.asarray(k2, dtype=cd)
        if x.ndim == 3:
            k2 = k2[..., None]
        return fdask.correlate(xf, k2, mode="same", boundary=boundary,
                               axes=(0, 1) if x.ndim == 3 else None)

    if k is None:
        y = da.hypot(corr(filters._gradient_kernel(name, "x")),
                     corr(filters._gradient_kernel(name, "y")))
    else:
        y = corr(k)
    if x.dtype.kind in "ui":
        info = np.iinfo(x.dtype)
        y = da.clip(da.rint(y), info.min, info.max).astype(x.dtype)
    else:
        y = y.astype(x.dtype)
    return y if alpha is None else da.concatenate([y, alpha], axis=2)


def _tiled_imports(kind):
    try:
        import dask.array  # noqa: F401
        import zarr  # noqa: F401

        from .. import dask  # noqa: F401
        if kind == "tiff":
            import tifffile  # noqa: F401
    except ImportError:
        extra = " tifffile" if kind == "tiff" else ""
        raise CLIError(f"{kind} tiled mode needs dask and zarr{extra}: "
                       f"pip install 'fastconv[dask]' zarr{extra}") from None


def _filter_zarr(args, name):
    """Tiled mode: a zarr store in, a zarr store out, chunk by chunk through
    fastconv.dask (memory bounded by a few chunks per core; a progress bar).
    The same numbers as the in-memory command (:func:`_tiled_filter`)."""
    import shutil
    import tempfile

    from .._config import new_file_mode

    _tiled_imports("zarr")
    import dask.array as da

    from .. import dask as fdask

    src, out = args.input, args.output
    if not out.lower().endswith(".zarr"):
        raise CLIError(f"{out}: a zarr input needs a zarr output (-o name.zarr)")
    if os.path.realpath(src) == os.path.realpath(out):
        raise CLIError(f"refusing to overwrite the input {src}; choose another -o")
    if os.path.exists(out):
        raise CLIError(f"{out} exists; remove it or choose another -o")
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
        raise CLIError(f"{out}: folder {d} does not exist or is not writable")
    try:
        x = da.from_zarr(src)
    except Exception as exc:
        raise CLIError(f"{src}: cannot read it as a zarr array ({exc.__class__.__name__})") \
            from None
    y = _tiled_filter(x, args, name)
    tmp = tempfile.mkdtemp(dir=d, prefix=f".{os.path.basename(out)}.")
    try:
        store = os.path.join(tmp, "data.zarr")
        fdask.store(y, store, progress=True)     # group by group: bounded memory
        os.chmod(store, new_file_mode(0o777))         # a folder, under the umask
        os.rename(store, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{src} -> {out}: {args.kernel} on {x.shape} {x.dtype} (tiled, chunks "
          f"{tuple(max(c) for c in x.chunks)})")


#: tiled TIFF mode: chunks of the input (rows x columns), the output's TIFF
#: tiles, and the most output one band of tile rows holds
TIFF_CHUNK = 1024
TIFF_TILE = 256
TIFF_BAND_BYTES = 128 << 20


def _tiff_shape(path):
    """(shape, dtype) of a TIFF's first image, read from its tags only."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as t:
            series = t.series[0]
            return tuple(series.shape), np.dtype(series.dtype)
    except Exception as exc:
        raise CLIError(f"{path}: cannot read it as a TIFF ({exc.__class__.__name__})") from None


def in_memory_bytes(shape, dtype):
    """What the in-memory ``filter`` command holds for an image: the image,
    its copy in the compute dtype, the sums and the result (the estimate the
    automatic tiled mode compares with the memory budget)."""
    from .. import filters

    n = float(np.prod(shape))
    cd = np.dtype(filters._compute_dtype(np.dtype(dtype)))
    return int(n * (2 * np.dtype(dtype).itemsize + 2 * cd.itemsize))


def _filter_tiff(args, name):
    """Tiled mode for a TIFF (``--tiled``, or automatic when the in-memory
    command would exceed the memory budget or the pixel limit): read through
    tifffile's zarr view in 1024 x 1024 chunks, filtered by fastconv.dask,
    written as a tiled TIFF (256 x 256 tiles, BigTIFF when large) one band
    of tile rows at a time (at most about 128 MiB of output, at least one
    row of tiles), into a temporary file renamed into place.  Memory: one
    band, its input rows with the kernel's halo in the compute dtype, and
    the tasks in flight."""
    import sys

    _tiled_imports("tiff")
    import dask.array as da
    import tifffile
    import zarr

    src, out = args.input, args.output
    check_output(out, [src], (".tif", ".tiff"))
    if not os.path.isfile(src):
        raise CLIError(f"{src}: no such file")
    try:
        z = zarr.open(tifffile.imread(src, aszarr=True, series=0, level=0), mode="r")
        x = da.from_zarr(z)
    except Exception as exc:
        raise CLIError(f"{src}: cannot read it as a TIFF ({exc.__class__.__name__})") from None
    x = x.rechunk((TIFF_CHUNK, TIFF_CHUNK) + x.shape[2:])
    y = _tiled_filter(x, args, name)
    H, W = y.shape[:2]
    row = W * int(np.prod(y.shape[2:])) * y.dtype.itemsize * TIFF_TILE
    band = TIFF_TILE * max(1, TIFF_BAND_BYTES // max(row, 1))
    nb = -(-H // band)

    def tiles():
        for b in range(nb):
            data = np.asarray(y[b * band:(b + 1) * band].compute())
            for i in range(0, data.shape[0], TIFF_TILE):
                for j in range(0, W, TIFF_TILE):
                    yield data[i:i + TIFF_TILE, j:j + TIFF_TILE]
            print(f"\r[{'#' * (40 * (b + 1) // nb):<40}] {b + 1}/{nb} bands", end="",
                  file=sys.stderr, flush=True)
        print(file=sys.stderr)

    photometric = "rgb" if y.ndim == 3 and y.shape[2] in (3, 4) else "minisblack"
    extra = {"extrasamples": ["unassalpha"]} if y.ndim == 3 and y.shape[2] in (2, 4) else {}

    def write(tmp):
        tifffile.imwrite(tmp, tiles(), shape=y.shape, dtype=y.dtype,
                         tile=(TIFF_TILE, TIFF_TILE), photometric=photometric,
                         bigtiff=y.nbytes > (1 << 31), **extra)

    atomic_write(out, write)
    print(f"{src} -> {out}: {args.kernel} on {x.shape} {x.dtype} (tiled, {nb} bands)")


def cmd_filter(args):
    from .. import filters

    name = args.kernel.strip().lower()
    if args.input.rstrip("/").lower().endswith(".zarr"):
        return _filter_zarr(args, name)
    if args.input.lower().endswith((".tif", ".tiff")) and os.path.isfile(args.input):
        if args.tiled:
            return _filter_tiff(args, name)
        shape, dtype = _tiff_shape(args.input)
        if in_memory_bytes(shape, dtype) > max_memory() or np.prod(shape) > MAX_PIXELS:
            return _filter_tiff(args, name)
    elif args.tiled:
        raise CLIError(f"{args.input}: --tiled takes a TIFF (.tif, .tiff); zarr stores "
                       f"(.zarr) are always tiled")
    check_output(args.output, [args.input], IMAGE_EXTENSIONS)
    k = None if name in _MAGNITUDE else _kernel(args.kernel)     # checked before reading
    img = read_image(args.input)
    colour, alpha, ch = _split_alpha(img)
    if name in _MAGNITUDE:
        # the gradient magnitude, in the image's units and dtype
        f = filters.edges(colour, name, "magnitude", mode=args.mode, channel_axis=ch)
        if img.dtype.kind in "ui":
            info = np.iinfo(img.dtype)
            out = np.clip(np.rint(f), info.min, info.max).astype(img.dtype)
        else:
            out = f.astype(img.dtype)
    else:
        out = filters.filter(colour, k, mode=args.mode, channel_axis=ch)
    write_image(args.output, _join_alpha(out, alpha))
    print(f"{args.input} -> {args.output}: {args.kernel} on {img.shape} {img.dtype}")


def cmd_deblur(args):
    from .. import restoration

    check_output(args.output, [args.input], IMAGE_EXTENSIONS)
    if args.iterations < 1:
        raise CLIError(f"--iterations must be >= 1, got {args.iterations}")
    if not (args.balance > 0 and np.isfinite(args.balance)):
        raise CLIError(f"--balance must be a positive finite number, got {args.balance}")
    psf = _kernel(args.psf)
    img = read_image(args.input)
    if np.any(psf < 0) or psf.sum() <= 0:
        raise CLIError(f"--psf {args.psf!r}: a point-spread function must be non-negative "
                       "with a positive sum (e.g. gaussian:2, box:5, disk:3, motion:9,30)")
    psf = psf / psf.sum()
    colour, alpha, ch = _split_alpha(img)
    f, scale = _to_unit(colour)
    planes = [f] if ch is None else [f[..., c] for c in range(f.shape[-1])]
    res = []
    for p in planes:
        if args.method == "wiener":
            res.append(restoration.wiener(p, psf.astype(p.dtype), args.balance, clip=False))
        else:
            res.append(restoration.richardson_lucy(p, psf.astype(p.dtype), args.iterations,
                                                   clip=False, accelerate=args.accelerate))
    g = res[0] if ch is None else np.stack(res, axis=-1)
    g = np.clip(g, 0.0, 1.0) if colour.dtype.kind in "uib" else g
    write_image(args.output, _join_alpha(_from_unit(g, colour.dtype, scale), alpha))
    print(f"{args.input} -> {args.output}: {args.method} with psf {args.psf}")


def cmd_match(args):
    from ..feature import best_matches, match_template

    check_output(args.output, [args.scene, args.template], IMAGE_EXTENSIONS)
    if args.top < 1:
        raise CLIError(f"--top must be >= 1, got {args.top}")
    scene = read_image(args.scene)
    templ = read_image(args.template)
    gray = []
    for im in (scene, templ):
        colour, _, ch = _split_alpha(im)
        f, _ = _to_unit(colour)
        gray.append(f if ch is None else f.mean(axis=-1))
    s, t = gray
    if any(a < b for a, b in zip(s.shape, t.shape)):
        raise CLIError(f"template {t.shape} is larger than the scene {s.shape}")
    score = match_template(s, t, pad_input=args.same_size, method=args.method)
    lo, hi = (-1.0, 1.0) if args.method == "ccoeff_normed" else \
        (float(score.min()), float(score.max()))
    heat = np.clip(np.rint((score - lo) / (hi - lo + 1e-300) * 255), 0, 255).astype(np.uint8)
    write_image(args.output, heat)
    off = [(k // 2 if args.same_size else 0) for k in t.shape]
    for rank, (pos, val) in enumerate(best_matches(score, args.top, method=args.method,
                                                   min_distance=max(1, min(t.shape) // 2)), 1):
        top_left = tuple(p - o for p, o in zip(pos, off))
        print(f"{rank}: row {top_left[0]}, col {top_left[1]} (template's top-left corner), "
              f"score {val:.4f}")


def add_commands(sub):
    from ..filters import _MODES

    f = sub.add_parser("filter", help="filter an image with a kernel")
    f.add_argument("input")
    f.add_argument("-k", "--kernel", required=True,
                   help="kernel spec: sobel|scharr|prewitt (gradient magnitude), sobel-x, "
                        "box:5, gaussian:2, laplacian, log:2, dog:1,3, sharpen, "
                        "unsharp:2,1, emboss, motion:9,30, disk:3")
    f.add_argument("-o", "--output", required=True)
    f.add_argument("--mode", default="reflect", choices=sorted(_MODES))
    f.add_argument("--tiled", action="store_true",
                   help="TIFF in, tiled TIFF out, in bounded memory (automatic when the image "
                        "would not fit the memory budget; zarr stores are always tiled)")
    f.set_defaults(func=cmd_filter)

    d = sub.add_parser("deblur", help="deconvolve an image with a known PSF")
    d.add_argument("input")
    d.add_argument("--psf", required=True, help="PSF spec, e.g. gaussian:2, disk:3, motion:9,30")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--method", choices=["rl", "wiener"], default="rl",
                   help="Richardson-Lucy (default) or Wiener")
    d.add_argument("--iterations", type=int, default=30, help="Richardson-Lucy iterations")
    d.add_argument("--accelerate", action="store_true", help="Biggs-Andrews acceleration")
    d.add_argument("--balance", type=float, default=0.01, help="Wiener regularisation")
    d.set_defaults(func=cmd_deblur)

    m = sub.add_parser("match", help="find a template in a scene; writes the score map")
    m.add_argument("scene")
    m.add_argument("template")
    m.add_argument("-o", "--output", required=True)
    m.add_argument("--method", default="ccoeff_normed",
                   choices=["sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff",
                            "ccoeff_normed"])
    m.add_argument("--top", type=int, default=3, help="how many best locations to print")
    m.add_argument("--same-size", action="store_true",
                   help="score map the size of the scene (pad_input=True)")
    m.set_defaults(func=cmd_match)
