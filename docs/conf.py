"""Sphinx configuration of fastconv's documentation (``make docs``)."""
import os
import sys

sys.path.insert(0, os.path.abspath("../src"))

project = "fastconv"
author = "the fastconv developers"
copyright = "2026, the fastconv developers"
extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_typehints = "none"          # the signatures show them; numpydoc the types
html_theme = "alabaster"
html_static_path = []
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing", "docutils"]


def _write_api_page():
    """api.rst: one entry per public name (each module's ``__all__``), written
    at every build so that a new public function always gets its page."""
    import importlib

    mods = [("fastconv", ["convolve", "correlate", "plan", "tune", "set_threads",
                          "get_threads", "threads"])]
    for m in ("signal", "ndimage", "numpy", "filters", "feature", "restoration", "astropy",
              "stream", "lti", "dask", "dask.ndimage", "nn", "nn.grad", "stats", "physics",
              "torch"):
        mod = importlib.import_module(f"fastconv.{m}")
        mods.append((f"fastconv.{m}", [n for n in mod.__all__ if n != "METHODS"]))
    out = ["API reference", "=============", "",
           "Every public name, module by module.", ""]
    for mod, names in mods:
        out += [mod, "-" * len(mod), "", f".. module:: {mod}", ""]
        for n in names:
            obj = getattr(importlib.import_module(mod), n)
            if isinstance(obj, type):
                out += [f".. autoclass:: {mod}.{n}", "   :members:", ""]
            else:
                out += [f".. autofunction:: {mod}.{n}", ""]
    out += ["The plan object", "---------------", "",
            ".. autoclass:: fastconv.planning.planner.Plan", "   :members: explain", ""]
    with open(os.path.join(os.path.dirname(__file__), "api.rst"), "w") as f:
        f.write("\n".join(out))


_write_api_page()
