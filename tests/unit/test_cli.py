"""The fastconv command line: images in, images out, clear errors, no data lost."""
import os

import numpy as np
import pytest
import scipy.ndimage as ndi

from fastconv import cli, filters, restoration
from fastconv.feature import match_template

iio = pytest.importorskip("imageio.v3")


@pytest.fixture
def images(tmp_path, rng):
    gray8 = (rng.random((40, 50)) * 255).astype(np.uint8)
    rgb16 = (rng.random((30, 36, 3)) * 65535).astype(np.uint16)
    rgba8 = (rng.random((20, 24, 4)) * 255).astype(np.uint8)
    paths = {}
    for name, img in (("gray8.png", gray8), ("rgb16.png", rgb16), ("rgba8.png", rgba8)):
        p = tmp_path / name
        write_ref(p, img)
        paths[name] = (str(p), img)
    return paths


def write_ref(path, img):
    """Write test inputs with the anchors (Pillow cannot write 16-bit colour)."""
    if img.dtype == np.uint16 and img.ndim == 3:
        import cv2

        assert cv2.imwrite(str(path), img[..., ::-1])
    else:
        iio.imwrite(path, img)


def read_ref(path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = img[..., [2, 1, 0, 3][:img.shape[-1]]]
    return img


def run(argv, capsys=None):
    code = cli.main([str(a) for a in argv])
    return code


def test_filter_gray_colour_16bit_alpha(images, tmp_path):
    for name, (path, img) in images.items():
        out = tmp_path / ("out_" + name)
        assert run(["filter", path, "-k", "gaussian:1.5", "-o", out]) == 0
        got = read_ref(out)
        assert got.dtype == img.dtype and got.shape == img.shape
        ch = None if img.ndim == 2 else -1
        colour = img if img.ndim == 2 or img.shape[-1] == 3 else img[..., :3]
        want = filters.filter(colour, filters.gaussian_kernel(1.5), channel_axis=ch)
        np.testing.assert_array_equal(got if img.ndim == 2 or img.shape[-1] == 3
                                      else got[..., :3], want)
        if img.ndim == 3 and img.shape[-1] == 4:
            np.testing.assert_array_equal(got[..., 3], img[..., 3])     # alpha untouched


def test_filter_sobel_is_gradient_magnitude(images, tmp_path):
    path, img = images["gray8.png"]
    out = tmp_path / "edges.png"
    assert run(["filter", path, "-k", "sobel", "-o", out]) == 0
    x = img.astype(np.float64)
    mag = np.hypot(ndi.sobel(x, 1, mode="reflect"), ndi.sobel(x, 0, mode="reflect"))
    want = np.clip(np.rint(mag), 0, 255).astype(np.uint8)
    assert np.abs(iio.imread(out).astype(int) - want.astype(int)).max() <= 1


def test_deblur_and_match(images, tmp_path, capsys, rng):
    path, img = images["gray8.png"]
    out = tmp_path / "sharp.png"
    assert run(["deblur", path, "--psf", "gaussian:1", "-o", out, "--iterations", "5"]) == 0
    psf = filters.gaussian_kernel(1)
    want = restoration.richardson_lucy(img / 255.0, psf / psf.sum(), 5, clip=False)
    want = np.clip(np.rint(np.clip(want, 0, 1) * 255), 0, 255).astype(np.uint8)
    assert np.abs(iio.imread(out).astype(int) - want.astype(int)).max() <= 1
    assert run(["deblur", path, "--psf", "disk:2", "--method", "wiener", "-o", out]) == 0
    # template matching: a crop of the scene is found where it was cut
    scene = (rng.random((60, 70)) * 255).astype(np.uint8)
    sp, tp = tmp_path / "scene.png", tmp_path / "templ.png"
    iio.imwrite(sp, scene)
    iio.imwrite(tp, scene[22:34, 40:52])
    heat = tmp_path / "heat.png"
    capsys.readouterr()
    assert run(["match", sp, tp, "-o", heat]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "row 22, col 40" in first and "score 1.0000" in first
    h = iio.imread(heat)
    assert h.dtype == np.uint8 and h.shape == (49, 59)
    score = match_template(scene / 255.0, scene[22:34, 40:52] / 255.0)
    assert np.abs(h.astype(int) - np.rint((score + 1) / 2 * 255).astype(int)).max() <= 1


def test_errors_are_one_line_and_nothing_is_overwritten(images, tmp_path, capsys):
    path, img = images["gray8.png"]
    before = open(path, "rb").read()
    assert run(["filter", path, "-k", "box:3", "-o", path]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert open(path, "rb").read() == before
    assert run(["filter", tmp_path / "missing.png", "-k", "box:3", "-o", tmp_path / "o.png"]) == 2
    assert "no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a png")
    assert run(["filter", junk, "-k", "box:3", "-o", tmp_path / "o.png"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert run(["filter", path, "-k", "blur:3", "-o", tmp_path / "o.png"]) == 2
    assert "unknown kernel" in capsys.readouterr().err
    assert run(["deblur", path, "--psf", "sobel-x", "-o", tmp_path / "o.png"]) == 2
    assert "non-negative" in capsys.readouterr().err
    assert run(["filter", path, "-k", "box:3", "-o", tmp_path / "nodir" / "o.png"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o.png")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]   # no temp files left


def test_output_replaced_atomically(images, tmp_path, monkeypatch):
    path, img = images["gray8.png"]
    out = tmp_path / "o.png"
    out.write_bytes(b"old")

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(iio, "imwrite", boom)
    assert cli.main(["filter", path, "-k", "box:3", "-o", str(out)]) == 2
    assert out.read_bytes() == b"old"                                    # old file intact
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_module_entry_point(images, tmp_path):
    import subprocess
    import sys

    path, _ = images["gray8.png"]
    r = subprocess.run([sys.executable, "-m", "fastconv", "filter", path, "-k", "emboss", "-o",
                        str(tmp_path / "e.png")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / "e.png")
