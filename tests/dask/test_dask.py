"""fastconv.dask: lazy blocked convolution equals the in-memory functions
(fastconv.convolve / fastconv.ndimage, and scipy.ndimage / dask_image) for
random chunkings (chunks of 1, chunks smaller than the kernel's reach),
every mode and boundary, 1-3-D, small and large kernels; task memory is
stated and holds; a distributed cluster computes the same."""
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.ndimage as ndi

da = pytest.importorskip("dask.array")

import fastconv  # noqa: E402
from fastconv import dask as fd  # noqa: E402
from fastconv.dask import ndimage as fdn  # noqa: E402

from ..conftest import assert_close, tolerance  # noqa: E402

BOUNDARIES = ["constant", "edge", "symmetric", "reflect", "wrap"]
ND_MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-wrap", "grid-mirror",
            "grid-constant"]


def random_chunks(rng, n):
    """A random chunking of n: ones, small pieces, or one chunk."""
    kind = rng.integers(4)
    if kind == 0:
        return (1,) * n
    if kind == 1:
        return (n,)
    out, tot = [], 0
    while tot < n:
        c = int(min(rng.integers(1, max(2, n // 2) + 1), n - tot))
        out.append(c)
        tot += c
    return tuple(out)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_equals_in_memory_random_chunkings(ndim, mode, boundary, rng):
    shape = {1: (97,), 2: (23, 31), 3: (6, 7, 9)}[ndim]
    for trial in range(3):
        kshape = tuple(int(rng.integers(1, s // 2 + 2)) for s in shape)
        x = rng.standard_normal(shape)
        k = rng.standard_normal(kshape)
        chunks = tuple(random_chunks(rng, s) for s in shape)
        cval = 0.25 if boundary == "constant" else 0
        got = fd.convolve(da.from_array(x, chunks=chunks), k, mode=mode, boundary=boundary,
                          cval=cval)
        want = fastconv.convolve(x, k, mode=mode, boundary=boundary, cval=cval)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert_close(got.compute(), want, tolerance(x.dtype, x, k))
        got = fd.correlate(da.from_array(x, chunks=chunks), k, mode=mode, boundary=boundary,
                           cval=cval).compute()
        assert_close(got, fastconv.correlate(x, k, mode=mode, boundary=boundary, cval=cval),
                     tolerance(x.dtype, x, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int64, np.uint8])
def test_dtypes_and_large_kernels(dtype, rng):
    # a kernel much larger than the chunks (the planner takes an FFT per block)
    x = (rng.standard_normal((300, 200)) * 20).astype(dtype)
    k = (rng.standard_normal((41, 57)) * 3).astype(dtype)
    xd = da.from_array(x, chunks=(64, 50))
    got = fd.convolve(xd, k, mode="same", boundary="reflect")
    want = fastconv.convolve(x, k, mode="same", boundary="reflect")
    assert got.dtype == want.dtype
    out = got.compute()
    if np.dtype(dtype).kind in "iu":
        assert np.array_equal(out, want)          # exact, as in memory
    else:
        assert_close(out, want, tolerance(dtype, x, k))


def test_batch_axes_and_axes_argument(rng):
    x = rng.standard_normal((4, 50, 3))
    k = rng.standard_normal((1, 9, 1))
    xd = da.from_array(x, chunks=(1, 7, 2))
    got = fd.convolve(xd, k, mode="same", axes=1, boundary="wrap").compute()
    assert_close(got, fastconv.convolve(x, k, mode="same", axes=1, boundary="wrap"), 1e-12)


def test_nan_stays_local(rng):
    x = rng.standard_normal((40, 40))
    x[20, 20] = np.nan
    k = rng.standard_normal((5, 5))
    got = fd.convolve(da.from_array(x, chunks=7), k, mode="same").compute()
    want = fastconv.convolve(x, k, mode="same")
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got).sum() == 25
    ok = ~np.isnan(want)
    assert_close(got[ok], want[ok], 1e-12)


def test_errors_name_the_parameter(rng):
    xd = da.from_array(rng.standard_normal((10, 10)), chunks=5)
    with pytest.raises(ValueError, match="mode"):
        fd.convolve(xd, np.ones((3, 3)), mode="bogus")
    with pytest.raises(ValueError, match="valid"):
        fd.convolve(xd, np.ones((11, 3)), mode="valid")
    with pytest.raises(ValueError, match="in2 must have extent 1"):
        fd.convolve(xd, np.ones((3, 3)), axes=0)
    with pytest.raises(ValueError, match="dimensions"):
        fd.convolve(xd, np.ones(3))
    with pytest.raises(ValueError, match="boundary"):
        fd.convolve(xd, np.ones((3, 3)), boundary="nope")
    with pytest.raises(TypeError, match="in1"):
        fd.convolve(np.array(["a"], dtype=object), np.ones(1))


def test_task_memory_is_stated_and_holds(rng, monkeypatch):
    """The plan states each task's memory; one task (gathering its piece and
    computing its block) stays under it (tracemalloc), for a small and an
    FFT-sized kernel; a chunking over the budget is refused up front."""
    x = rng.standard_normal((512, 384)).astype(np.float32)
    for k in (rng.standard_normal((5, 5)), rng.standard_normal((63, 63))):
        k = k.astype(np.float32)
        p = fd.plan(da.from_array(x, chunks=(128, 128)), k, mode="same", boundary="reflect")
        assert "largest task" in p.explain()
        for shape, method, mem in p.blocks:
            parts = [np.ascontiguousarray(x[:shape[0] // 2, :shape[1]]),
                     np.ascontiguousarray(x[:shape[0] - shape[0] // 2, :shape[1]])]
            # warm (kernels loaded or compiled, caches filled), as a worker
            # is after its first task: numba's Python objects are not data
            fastconv.convolve(np.concatenate(parts), k, mode="valid")
            tracemalloc.start()
            piece = np.concatenate(parts)             # the gathered piece
            fastconv.convolve(piece, k, mode="valid")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak <= mem, (shape, method, peak, mem)
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "1M")
    with pytest.raises(ValueError, match="rechunk"):
        fd.convolve(da.from_array(x, chunks=(512, 384)), np.ones((5, 5), np.float32))


# ------------------------------------------------------------ ndimage names
@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ND_MODES)
def test_ndimage_equals_scipy(name, mode, rng):
    for trial in range(3):
        shape = (int(rng.integers(5, 30)), int(rng.integers(5, 30)))
        x = rng.standard_normal(shape)
        w = rng.standard_normal((int(rng.integers(1, 8)), int(rng.integers(1, 8))))
        origin = tuple(int(rng.integers(-(s // 2), (s - 1) // 2 + 1)) for s in w.shape)
        chunks = tuple(random_chunks(rng, s) for s in shape)
        got = getattr(fdn, name)(da.from_array(x, chunks=chunks), w, mode=mode, cval=0.5,
                                 origin=origin).compute()
        want = getattr(ndi, name)(x, w, mode=mode, cval=0.5, origin=origin)
        assert_close(got, want, 1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_ndimage_integer_images_keep_scipys_dtype(dtype, rng):
    x = (rng.random((40, 33)) * 200).astype(dtype)
    w = rng.standard_normal((3, 4))
    got = fdn.correlate(da.from_array(x, chunks=(6, 5)), w, mode="nearest").compute()
    want = ndi.correlate(x, w, mode="nearest")
    assert got.dtype == want.dtype
    assert np.abs(got.astype(np.float64) - want).max() <= (1 if dtype != np.float32 else 1e-4)


@pytest.mark.parametrize("name", ["convolve1d", "correlate1d"])
def test_ndimage_1d(name, rng):
    x = rng.standard_normal((20, 45))
    w = rng.standard_normal(11)
    for axis in (0, 1, -1):
        got = getattr(fdn, name)(da.from_array(x, chunks=(3, 4)), w, axis=axis,
                                 mode="mirror", origin=-2).compute()
        assert_close(got, getattr(ndi, name)(x, w, axis=axis, mode="mirror", origin=-2), 1e-12)


@pytest.mark.parametrize("order", [0, 1, 2, (0, 1), (2, 0)])
@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_gaussian_filter_equals_scipy(order, mode, rng):
    x = rng.standard_normal((31, 47))
    for sigma in (0.7, 3.0, (1.5, 6.0)):
        got = fdn.gaussian_filter(da.from_array(x, chunks=(4, 9)), sigma, order=order,
                                  mode=mode).compute()
        assert_close(got, ndi.gaussian_filter(x, sigma, order=order, mode=mode), 1e-12)
    u8 = (rng.random((31, 47)) * 255).astype(np.uint8)
    got = fdn.gaussian_filter(da.from_array(u8, chunks=5), 2.0).compute()
    assert got.dtype == np.uint8 and np.array_equal(got, ndi.gaussian_filter(u8, 2.0))


def test_drop_in_for_dask_image(rng):
    """The same call as dask_image.ndfilters gives the same numbers, on the
    same chunks, and a kernel deeper than a chunk needs no rechunk."""
    ndf = pytest.importorskip("dask_image.ndfilters")
    x = da.from_array(rng.standard_normal((60, 70)), chunks=(20, 35))
    w = rng.standard_normal((7, 5))
    for f in ("convolve", "correlate"):
        assert_close(getattr(fdn, f)(x, w, mode="mirror").compute(),
                     getattr(ndf, f)(x, w, mode="mirror").compute(), 1e-12)
    assert_close(fdn.gaussian_filter(x, 2.0).compute(), ndf.gaussian_filter(x, 2.0).compute(),
                 1e-12)
    deep = rng.standard_normal((41, 3))              # reaches 20 rows: a whole chunk
    got = fdn.correlate(x, deep, mode="wrap")
    assert got.chunks == x.chunks
    assert_close(got.compute(), ndi.correlate(x.compute(), deep, mode="wrap"), 1e-12)


@pytest.mark.parametrize("processes", [True, False], ids=["processes", "threads"])
def test_distributed_cluster(processes, rng):
    """The graph runs on a dask.distributed LocalCluster (worker processes,
    or worker threads in this process)."""
    distributed = pytest.importorskip("distributed")
    x = rng.standard_normal((120, 90))
    k = rng.standard_normal((9, 9))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = client.compute(fd.convolve(da.from_array(x, chunks=40), k, mode="same",
                                         boundary="symmetric")).result()
        g2 = client.compute(fdn.gaussian_filter(da.from_array(x, chunks=30), 3.0)).result()
    assert_close(got, fastconv.convolve(x, k, mode="same", boundary="symmetric"), 1e-12)
    assert_close(g2, ndi.gaussian_filter(x, 3.0), 1e-12)


def test_import_fastconv_loads_no_dask():
    code = ("import sys, fastconv; fastconv.convolve([1.0], [1.0]); "
            "print(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_out_of_core_example_runs(tmp_path):
    """examples/out_of_core.py (zarr in, zarr out, checked against scipy)."""
    pytest.importorskip("zarr")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "examples" / "out_of_core.py"
    spec = importlib.util.spec_from_file_location("out_of_core", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--shape", "40", "48", "56", "--chunks", "16", "--sigma", "2",
                     "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "filtered.zarr").exists()


def test_cli_filter_tiled_zarr(tmp_path, rng, capsys):
    """`fastconv filter in.zarr -o out.zarr`: chunk by chunk, the in-memory
    command's numbers (rounded, saturated uint8), one-line errors with exit 2
    and nothing left behind (existing output, wrong output kind, bad input)."""
    pytest.importorskip("zarr")
    from fastconv import cli, filters

    x = (rng.random((130, 90, 3)) * 255).astype(np.uint8)
    src, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    da.from_array(x, chunks=(32, 40, 3)).to_zarr(str(src))
    assert cli.main(["filter", str(src), "-k", "gaussian:2", "-o", str(out)]) == 0
    got = np.asarray(da.from_zarr(str(out)))
    want = filters.filter(x, filters.kernel("gaussian:2"), channel_axis=-1)
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - want).max() <= 1
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv in (["filter", str(src), "-k", "box:3", "-o", str(out)],           # exists
                 ["filter", str(src), "-k", "box:3", "-o", str(tmp_path / "o.png")],
                 ["filter", str(tmp_path / "missing.zarr"), "-k", "box:3", "-o",
                  str(tmp_path / "m.zarr")],
                 ["filter", str(src), "-k", "bogus:3", "-o", str(tmp_path / "b.zarr")]):
        capsys.readouterr()
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err, (argv, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, argv


def test_store_group_by_group(tmp_path, rng):
    """fastconv.dask.store writes a result into zarr group by group of its
    chunks (groups smaller than the whole, and a single chunk), the same
    values as computing it whole; shape mismatches are refused."""
    zarr = pytest.importorskip("zarr")
    x = rng.standard_normal((50, 37, 20))
    y = fd.correlate(da.from_array(x, chunks=(8, 10, 20)), rng.standard_normal((3, 5, 1)),
                     mode="same", boundary="wrap")
    want = y.compute()
    for max_bytes in (1, 8 * 8 * 10 * 20 * 3, 1 << 30):
        path = str(tmp_path / f"o{max_bytes}.zarr")
        fd.store(y, path, max_bytes=max_bytes)
        assert np.array_equal(np.asarray(zarr.open(path, mode="r")[...]), want)
    with pytest.raises(ValueError, match="shape"):
        fd.store(y, zarr.open(str(tmp_path / "bad.zarr"), mode="w", shape=(5,), dtype="f8"))


@pytest.mark.parametrize("channels", [0, 3, 4])
def test_cli_filter_tiled_tiff(tmp_path, rng, capsys, channels, monkeypatch):
    """`fastconv filter big.tif --tiled -o out.tif`: read through tifffile's
    zarr view in chunks (here 64 x 64, a stripped and a tiled input), written
    as a tiled TIFF band by band (bands of 32 rows): the in-memory command's
    numbers (integers within 1 of the float sums, alpha passed through);
    chosen automatically when the in-memory command would exceed the memory
    budget; one-line errors with exit 2 and nothing left behind."""
    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("zarr")
    from fastconv import cli, filters
    from fastconv.cli import images

    monkeypatch.setattr(images, "TIFF_CHUNK", 64)
    monkeypatch.setattr(images, "TIFF_TILE", 32)
    monkeypatch.setattr(images, "TIFF_BAND_BYTES", 1)
    shape = (150, 101) + ((channels,) if channels else ())
    x = (rng.random(shape) * 255).astype(np.uint8)
    colour = x[..., :3] if channels == 4 else x
    want = filters.filter(colour, filters.kernel("gaussian:2"),
                          channel_axis=-1 if channels else None)
    mag = filters.edges(colour.astype(np.float64), "sobel", "magnitude",
                        channel_axis=-1 if channels else None)
    photometric = "rgb" if channels else "minisblack"
    for tiled_input in (False, True):
        src = tmp_path / f"in{int(tiled_input)}.tif"
        tifffile.imwrite(src, x, photometric=photometric,
                         **({"tile": (48, 48)} if tiled_input else {"rowsperstrip": 7}),
                         **({"extrasamples": ["unassalpha"]} if channels == 4 else {}))
        out = tmp_path / f"out{int(tiled_input)}.tif"
        assert cli.main(["filter", str(src), "--tiled", "-k", "gaussian:2", "-o", str(out)]) == 0
        got = tifffile.imread(out)
        assert got.dtype == np.uint8 and got.shape == x.shape
        assert np.abs(got[..., :3].astype(int) - want).max() <= 1 if channels == 4 else \
            np.abs(got.astype(int) - want).max() <= 1
        if channels == 4:
            assert np.array_equal(got[..., 3], x[..., 3])
        with tifffile.TiffFile(out) as t:
            assert t.pages[0].is_tiled
        out.unlink()
    # automatic: an in-memory estimate over the budget takes the tiled mode
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(images.in_memory_bytes(shape, np.uint8) - 1))
    assert cli.main(["filter", str(src), "-k", "sobel", "-o", str(out)]) == 0
    assert "tiled" in capsys.readouterr().out
    got = tifffile.imread(out)
    ref_mag = np.clip(np.rint(mag), 0, 255)
    assert np.abs(got[..., :3].astype(int) - ref_mag).max() <= 1 if channels == 4 else \
        np.abs(got.astype(int) - ref_mag).max() <= 1
    monkeypatch.delenv("FASTCONV_MAX_MEMORY")
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv in (["filter", str(src), "--tiled", "-k", "box:3", "-o", str(src)],   # the input
                 ["filter", str(src), "--tiled", "-k", "box:3", "-o", str(tmp_path / "o.png")],
                 ["filter", str(tmp_path / "missing.tif"), "--tiled", "-k", "box:3", "-o",
                  str(tmp_path / "m.tif")],
                 ["filter", str(src), "--tiled", "-k", "bogus:3", "-o", str(tmp_path / "b.tif")],
                 ["filter", str(tmp_path / "x.png"), "--tiled", "-k", "box:3", "-o",
                  str(tmp_path / "p.tif")]):
        capsys.readouterr()
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err, (argv, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, argv
    # a file that is not a TIFF
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    capsys.readouterr()
    assert cli.main(["filter", str(bad), "--tiled", "-k", "box:3", "-o",
                     str(tmp_path / "c.tif")]) == 2
    assert not (tmp_path / "c.tif").exists()
