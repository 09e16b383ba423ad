"""Every Python snippet in the README runs as written, in order (issue 17)."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_snippets_run():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    ns = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), ns)
    # what the snippets claim in their comments
    assert ns["best"][0][0] == (40, 50) and abs(ns["best"][0][1] - 1.0) < 1e-6
    assert ns["y"].shape == (4, 100_000) and ns["z"].shape == (4, 100_000 - 254)
    n = sum(o.shape[-1] for o in ns["out"])
    assert n == 100_000 + 1000 - 1 + 256
    assert np.all(np.isfinite(ns["sharp"]))
    assert ns["tile"].shape == (256, 256) and ns["blur"].shape == (4096, 4096)
    assert ns["h"].shape == (8, 16, 16, 16) and ns["gx"].shape == ns["imgs"].shape
    assert ns["ys"].shape == ns["gu"].shape == (4, 64, 4096) and ns["gk"].shape == (64, 4096)
    assert abs(ns["p100"][100] / 6.0 ** -100 - 1) < 1e-12 and (ns["p100"] >= 0).all()
    assert ns["loss"].shape == (1 << 16,) and (ns["loss"] >= 0).all()
    assert ns["ma"][-1] == 0.0 and ns["heat"].shape == (3, 64, 64)
    assert ns["est"].density.shape == (1024,)
    assert type(ns["tt"]).__name__ == "Tensor" and tuple(ns["tt"].shape) == (4, 4350)
    assert tuple(ns["tl"].shape) == (2, 8, 1024) and ns["tl"].requires_grad


def test_readme_is_short():
    assert len(README.read_bytes()) < 12 * 1024
