"""Planner, Plan objects, wisdom, threads, lazy import."""
import json
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv.algorithms import direct as direct_alg
from fastconv.planning import wisdom
from tests import reference as ref


def test_plan_explain_lists_every_candidate():
    x = np.random.default_rng(0).standard_normal(50_000)
    k = np.ones(7)
    p = fastconv.plan(x, k)
    text = p.explain()
    for name in ["direct", "fft", "overlap-add", "overlap-save", "chosen:"]:
        assert name in text
    assert p.method == "direct"
    np.testing.assert_allclose(p(x, k), np.convolve(x, k), atol=1e-10)


def test_planner_prefers_fft_family_for_long_kernels():
    p = fastconv.plan(np.ones(1_000_000), np.ones(4096))
    assert p.method in ("fft", "overlap-add", "overlap-save")


@pytest.mark.parametrize("sigma", [2, 8, 12])
def test_planner_prefers_separable_for_large_gaussians(sigma):
    # shipped model: separable's fused passes cost less than direct's 1-D
    # coefficients say (a 4096^2 sigma-8 Gaussian once went to the FFT,
    # 1.4-3x slower); deciding needs only shapes and the kernel's rank
    r = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    x = np.broadcast_to(np.float32(0), (4096, 4096))
    p = fastconv.plan(x, np.outer(g, g).astype(np.float32), mode="same", boundary="symmetric")
    assert p.method == "separable", p.explain()


def test_accuracy_high_forces_direct():
    # wide dynamic range: a tiny output next to huge ones
    x = np.zeros(4000)
    x[:2000] = 1e12
    x[3000] = 1.0
    k = np.ones(1500)
    p = fastconv.plan(x, k, mode="same", accuracy="high")
    assert p.method == "direct"
    y = fastconv.convolve(x, k, mode="same", accuracy="high")
    # outputs whose window holds only the 1.0 must be exactly 1.0
    assert y[3200] == 1.0
    assert "accuracy='high'" in p.explain()


def test_measure_records_wisdom(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCONV_WISDOM_DIR", str(tmp_path))
    wisdom.forget()
    x = np.random.default_rng(1).standard_normal(4000)
    k = np.random.default_rng(2).standard_normal(64)
    p = fastconv.plan(x, k, measure=True)
    assert all(c.get("measured") for c in p.candidates if "excluded" not in c)
    data = json.loads((tmp_path / wisdom.FILENAME).read_text())
    assert p.spec.key() in data
    assert data[p.spec.key()]["method"] == p.method
    # a later plan of the same bucketed shape reuses it
    p2 = fastconv.plan(x[:3900], k)
    assert p2.method == p.method and "wisdom" in p2.explain()
    wisdom.forget()
    assert not (tmp_path / wisdom.FILENAME).exists()


def test_wisdom_disabled(monkeypatch):
    monkeypatch.setenv("FASTCONV_WISDOM_DIR", "off")
    assert wisdom.record("k", {"method": "fft"}) is False
    assert wisdom.load() == {}


def test_threads_setting_and_context():
    n0 = fastconv.get_threads()
    with fastconv.threads(1):
        assert fastconv.get_threads() == 1
        y = fastconv.convolve(np.ones(100_000), np.ones(9))
    assert fastconv.get_threads() == n0
    np.testing.assert_allclose(y[8:-8], 9.0)
    fastconv.set_threads(1)
    try:
        assert fastconv.get_threads() == 1
    finally:
        fastconv.set_threads(fastconv._config._max_threads())


def test_threads_give_same_numbers():
    x = np.random.default_rng(3).standard_normal((64, 300))
    k = np.random.default_rng(4).standard_normal((5, 5))
    with fastconv.threads(1):
        a = fastconv.convolve(x, k)
    b = fastconv.convolve(x, k)
    np.testing.assert_array_equal(a, b)


def test_memory_budget_plans_fit_and_results_hold(monkeypatch):
    x = np.random.default_rng(5).standard_normal(200_000)
    k = np.random.default_rng(6).standard_normal(3000)
    budget = 8 * 420_000
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(budget))
    p = fastconv.plan(x, k)
    chosen = [c for c in p.candidates if c["method"] == p.method][0]
    assert chosen["memory"] <= budget
    np.testing.assert_allclose(p(x, k), np.convolve(x, k), atol=1e-8)


@pytest.mark.parametrize("method", ["fft", "overlap-save", "overlap-add", "hybrid", "direct"])
def test_over_budget_runs_blocked_within_budget(monkeypatch, method):
    import tracemalloc

    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 300, 256))
    k = rng.standard_normal((1, 31, 17))
    want = fastconv.convolve(x, k, mode="same", axes=(1, 2), method=method)
    full = fastconv.plan(x, k, mode="same", axes=(1, 2), method=method)
    need = [c for c in full.candidates if c["method"] == method][0]["memory"]
    out_bytes = x.size * 8
    budget = out_bytes + (need - out_bytes) // 4 + 1      # a quarter of the working set
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(budget))
    p = fastconv.plan(x, k, mode="same", axes=(1, 2), method=method)
    c = [c for c in p.candidates if c["method"] == method][0]
    if need > budget:
        assert c["params"].get("chunks", 1) >= 4 and "blocked" in p.explain()
    tracemalloc.start()
    got = p(x, k)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert peak <= 1.1 * max(budget, c["memory"]) + x.nbytes   # + the plan's input copy


def test_over_budget_slabs_along_a_convolution_axis(monkeypatch):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(400_000)
    k = rng.standard_normal(5000)
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(8 * 400_000 * 2))
    for method in ("fft", "overlap-save"):
        p = fastconv.plan(x, k, mode="same", method=method)
        assert p.params.get("chunks", 1) > 1
        np.testing.assert_allclose(p(x, k), np.convolve(x, k, mode="same"), atol=1e-8)


def test_import_is_light_and_compiles_nothing():
    code = ("import sys, fastconv; "
            "heavy = [m for m in ('numba', 'scipy', 'llvmlite') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_lazy_namespaces():
    assert fastconv.signal.convolve is not None
    assert fastconv.ndimage.correlate is not None
    with pytest.raises(AttributeError):
        fastconv.nonexistent  # noqa: B018


def test_tune_fits_and_saves(tmp_path, monkeypatch):
    from fastconv.planning import cost

    monkeypatch.setenv("FASTCONV_WISDOM_DIR", str(tmp_path))
    saved = {m: {f: dict(c) for f, c in fams.items()} for m, fams in cost.COEF.items()}
    try:
        coef = fastconv.tune(problems=10, seed=3)
        assert "direct" in coef and coef["direct"]
        for fams in coef.values():
            for c in fams.values():
                assert all(v >= 0 for v in c.values())
        assert (tmp_path / cost.tuned_filename()).exists()
        assert cost.tuned_filename().endswith(direct_alg.machine_class() + ".json")
        assert cost.load_saved() == coef
        threads = fastconv.get_threads()
        if threads > 1:              # the speed-ups measured at this thread count
            got = coef["_scaling"][str(threads)]
            assert got and all(1.0 <= v for v in got.values())
            assert cost.SCALING[threads] == got
        # the planner still answers correctly with the fitted model
        x = np.random.default_rng(0).standard_normal(3000)
        np.testing.assert_allclose(fastconv.convolve(x, np.ones(7)), np.convolve(x, np.ones(7)),
                                   atol=1e-9)
    finally:
        cost.apply(saved)
        cost.SCALING.clear()
    with pytest.raises(ValueError, match="problems must be"):
        fastconv.tune(problems=3)


def test_measured_scaling_per_thread_count(monkeypatch):
    """A speed-up measured at a thread count (tune()'s '_scaling') replaces
    the model's for that count and method only, capped by the work units;
    other counts and methods keep the model; a saved fit brings it back."""
    from fastconv.planning import cost

    monkeypatch.setattr(cost, "SCALING", {})
    model = cost.speedup(16, None, None, "direct")
    assert model == pytest.approx(1 + cost.PARALLEL * 15)
    cost.apply({"_scaling": {"16": {"direct": 6.0, "fft": 2.5, "nonsense": 3.0}}})
    assert cost.speedup(16, None, None, "direct") == 6.0
    assert cost.speedup(16, 4, None, "direct") == 4.0           # four work units
    assert cost.speedup(16, None, 0.5, "fft") == 2.5
    assert cost.speedup(8, None, None, "direct") == pytest.approx(1 + cost.PARALLEL * 7)
    assert cost.speedup(16, None, None, "overlap-save") == pytest.approx(model)
    assert cost.speedup(1, None, None, "direct") == 1.0
    assert "nonsense" not in cost.SCALING[16]
    # the planner's estimates follow: direct at 16 threads costs 16 / 6 of one
    x = np.zeros((2048, 2048), np.float32)
    spec = fastconv._core.prepare(x, np.zeros((9, 9), np.float32), mode="same").spec
    t16 = cost.estimate("direct", spec, 16, {})
    t1 = cost.estimate("direct", spec, 1, {})
    serial = cost.coefficients("direct", "f4").get("call", 0.0)
    assert (t1 - serial) / (t16 - serial) == pytest.approx(6.0, rel=1e-6)


@pytest.mark.parametrize("method", ["fft", "overlap-save", "overlap-add", "hybrid"])
def test_plan_reuses_kernel_spectrum_only_for_the_same_kernel(method, monkeypatch):
    from fastconv.algorithms import _common

    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 300))
    k1 = rng.standard_normal((5, 40))
    k2 = rng.standard_normal((5, 40))
    p = fastconv.plan(x, k1, mode="same", method=method)
    # the plan's own cache only (the shared one of one-off calls would serve
    # k1's third use: tests/unit/test_spectrum_cache.py)
    monkeypatch.setenv("FASTCONV_SPECTRUM_CACHE", "0")
    calls = []
    real = _common.kernel_spectrum

    def counting(params, tag, k, compute):
        def wrapped():
            calls.append(tag)
            return compute()
        return real(params, tag, k, wrapped)
    monkeypatch.setattr(_common, "kernel_spectrum", counting)
    for mod in ("fft", "overlap", "hybrid"):
        monkeypatch.setattr(f"fastconv.algorithms.{mod}.kernel_spectrum", counting, raising=False)
    for k in (k1, k1, k2, k1):
        np.testing.assert_allclose(p(x, k), ref.convolve(x, k, "same"), atol=1e-9)
    assert len(calls) == 3            # k1 computed, reused, k2 computed, k1 computed again


# ------------------------------------------------ caches of repeated calls
# Repeated calls reuse the planner's decision and the direct kernels' row
# layouts; what those depend on must still be honoured when it changes.
def test_repeated_plans_follow_the_memory_budget(monkeypatch):
    x = np.random.default_rng(11).standard_normal(200_000)
    k = np.random.default_rng(12).standard_normal(3000)
    monkeypatch.delenv("FASTCONV_MAX_MEMORY", raising=False)
    free = fastconv.plan(x, k)
    need = [c for c in free.candidates if c["method"] == free.method][0]["memory"]
    budget = 8 * 420_000
    assert need > budget                  # else the test shows nothing
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(budget))
    tight = fastconv.plan(x, k)
    assert [c for c in tight.candidates if c["method"] == tight.method][0]["memory"] <= budget
    np.testing.assert_allclose(tight(x, k), np.convolve(x, k), atol=1e-8)
    monkeypatch.delenv("FASTCONV_MAX_MEMORY")
    again = fastconv.plan(x, k)
    assert again.method == free.method and again.params.keys() == free.params.keys()


def test_repeated_plans_follow_new_wisdom(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCONV_WISDOM_DIR", str(tmp_path))
    wisdom.forget()
    x = np.random.default_rng(13).standard_normal(20_000)
    k = np.random.default_rng(14).standard_normal(40)
    first = fastconv.plan(x, k)
    assert "wisdom" not in first.reason
    other = "fft" if first.method != "fft" else "direct"
    wisdom.record(first.spec.key(), {"method": other, "times": {other: 1e-4}})
    second = fastconv.plan(x, k)
    assert second.method == other and "wisdom" in second.reason
    np.testing.assert_allclose(second(x, k), np.convolve(x, k), atol=1e-9)
    wisdom.forget()
    assert fastconv.plan(x, k).method == first.method


def test_plans_from_the_cache_are_independent():
    x = np.ones(500)
    k = np.ones(5)
    a = fastconv.plan(x, k)
    a.candidates[0]["estimate"] = -1.0
    a.params["tile"] = 3
    b = fastconv.plan(x, k)
    assert b.candidates[0]["estimate"] > 0 and "tile" not in b.params


@pytest.mark.parametrize("shape,kshape,axes", [((20, 30), (3, 5), None),
                                               ((4, 9, 11), (1, 3, 4), (1, 2)),
                                               ((7, 8, 9), (3, 2, 2), None),
                                               ((3, 40), (1, 6), (1,))])
def test_same_shapes_other_boundaries_reuse_nothing_wrong(shape, kshape, axes):
    rng = np.random.default_rng(15)
    x = rng.standard_normal(shape)
    k = rng.standard_normal(kshape)
    for boundary in ("reflect", "wrap", "constant", "edge", "symmetric", "reflect"):
        for mode in ("same", "full"):
            got = fastconv.convolve(x, k, mode=mode, boundary=boundary, axes=axes,
                                    method="direct")
            if axes is None:
                want = ref.convolve(x, k, mode=mode, boundary=boundary)
            else:     # leading axis: a batch (kernel of length 1 there)
                want = np.stack([ref.convolve(x[b], k[0], mode=mode, boundary=boundary)
                                 for b in range(x.shape[0])])
            np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{boundary} {mode}")


def test_numba_thread_setting_is_applied_once_per_value():
    import numba

    from fastconv import _config

    _config.numba_threads(1)
    assert numba.get_num_threads() == 1
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)   # behind fastconv's back
    _config.numba_threads(None)                              # ... so forget the last value
    _config.numba_threads(1)
    assert numba.get_num_threads() == 1
    _config.numba_threads(None)


@pytest.mark.parametrize("cls", ["avx2", "avx512", "generic"])
def test_machine_class_constants(cls, tmp_path, monkeypatch):
    """The cost model lays the constants fitted on the process's machine
    class over the shipped (AVX2) ones at first use; a tune() fit is kept
    per class."""
    import copy

    from fastconv.planning import cost

    monkeypatch.setenv("FASTCONV_WISDOM_DIR", str(tmp_path))
    monkeypatch.setattr(direct_alg, "machine_class", lambda: cls)
    saved, loaded = copy.deepcopy(cost.COEF), dict(cost._LOADED)
    base = cost.SHIPPED
    try:
        cost.COEF.clear()
        cost.COEF.update(copy.deepcopy(base))
        cost._LOADED["done"] = False
        got = cost.coefficients("direct", "f4")
        over = cost.CLASS_COEF.get(cls, {}).get("direct", {}).get("f4", {})
        for name, v in base["direct"]["f4"].items():
            assert got[name] == over.get(name, v), name
        if cls == "avx512":
            assert over and got["tap2"] != base["direct"]["f4"]["tap2"]
        assert cost.tuned_filename() == f"coefficients-v2-{cls}.json"
    finally:
        cost.COEF.clear()
        cost.COEF.update(saved)
        cost._LOADED.update(loaded)


@pytest.mark.parametrize("xs, ks, dtype", [((2, 30000), (2, 100), np.float64),
                                           ((3, 20000), (3, 200), np.float32),
                                           ((5, 3, 9000), (2, 2, 40), np.float32)])
def test_thin_problems_tile_and_plan_as_they_run(xs, ks, dtype):
    """A few long rows: overlap-save's tiles grow to TILE_POINTS (not
    thousands of 1024-long tiles of a few rows), its values hold, and the
    cost model prices the hybrid's out-of-cache row transforms ('fftbig')."""
    from fastconv.algorithms.overlap import TILE_POINTS
    from tests import reference as ref

    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    k = rng.standard_normal(ks).astype(dtype)
    p = fastconv.plan(x, k, method="overlap-save")
    blocks = p.params["blocks"]
    tiled = [M for M in blocks if M is not None]
    fixed = np.prod([N + K - 1 for N, K, M in zip(xs, ks, blocks) if M is None])
    assert not tiled or fixed * np.prod(tiled) >= TILE_POINTS[len(xs)] / 2
    got = fastconv.convolve(x, k, method="overlap-save")
    want = ref.convolve(x.astype(np.float64), k.astype(np.float64))
    tol = (1e-10 if dtype == np.float64 else 1e-4) * np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    big = fastconv.plan(np.zeros((2, 2_000_000)), np.ones((2, 100)))
    est = {c["method"]: c["estimate"] for c in big.candidates}
    assert est["hybrid"] > est["direct"], est
