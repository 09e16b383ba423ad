"""The documentation site builds, and renders in a real (headless) browser:
every page, the pictures, and one entry for every public function
(issue 17).  The site is built here with Sphinx, as ``make docs`` does."""
import importlib
import pathlib
import shutil
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODULES = ("signal", "ndimage", "numpy", "filters", "feature", "restoration", "astropy",
           "stream", "lti", "dask", "dask.ndimage", "nn", "nn.grad", "stats", "physics", "torch")
PAGES = ("index", "guide", "dropins", "gallery", "methods", "benchmarks", "api", "layout")


def public_names():
    import fastconv

    names = [f"fastconv.{n}" for n in ("convolve", "correlate", "plan", "tune",
                                       "set_threads", "get_threads", "threads")]
    for m in MODULES:
        mod = importlib.import_module(f"fastconv.{m}")
        names += [f"fastconv.{m}.{n}" for n in mod.__all__ if n != "METHODS"]
    assert "fastconv.signal.fftconvolve" in names and len(names) > 50
    return names, fastconv


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx", reason="the docs extra (sphinx) is not installed")
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS),
                        str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def render(path, tmp_path):
    """The DOM after the page loaded in headless Chromium."""
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path}",
                        "--dump-dom", path.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_site_builds_with_every_page(site):
    for page in PAGES:
        assert (site / f"{page}.html").exists(), page
    for img in ("edges", "blur_sharpen", "nan_interpolation", "template_match", "deblur",
                "digits_loss", "digits_filters", "dice", "aggregate_loss", "kde_boundary",
                "milk_in_coffee", "wave_packet"):
        assert (site / "_images" / f"{img}.png").exists(), img


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed here "
                    "(.ci/run installs Debian's chromium where apt can reach the mirror)")
def test_pages_render_in_a_browser(site, tmp_path):
    names, _ = public_names()
    for page in PAGES:
        dom = render(site / f"{page}.html", tmp_path)
        assert "<h1>" in dom and "fastconv" in dom, page
    api = render(site / "api.html", tmp_path)
    missing = [n for n in names if f'id="{n}"' not in api]
    assert not missing, missing
    gallery = render(site / "gallery.html", tmp_path)
    assert gallery.count("<img") >= 5
