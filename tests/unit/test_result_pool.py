"""The pool of large result buffers (algorithms/_common.result,
FASTCONV_RESULT_POOL): a block is lent again only when no array uses it."""
import threading

import numpy as np
import pytest
import scipy.ndimage as ndi

import fastconv
from fastconv.algorithms import _common

# float32 (4100, 2048): 33.6 MB, a large result
SHAPE = (4100, 2048)


@pytest.fixture(autouse=True)
def empty_pool():
    _common.release_results()
    yield
    _common.release_results()


def _addr(a):
    return a.__array_interface__["data"][0]


def _expected(x, k):
    # convolve 'same' with zero padding, an odd kernel: ndimage's convolve
    return ndi.convolve(x.astype(np.float64), k.astype(np.float64), mode="constant")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    ks = [rng.standard_normal((3, 3)).astype(np.float32) for _ in range(3)]
    return x, ks, [_expected(x, k) for k in ks]


def _check(y, want):
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_block_comes_back_after_the_result_is_gone(data):
    x, ks, want = data
    y = fastconv.convolve(x, ks[0], mode="same")
    assert not y.flags.owndata and y.nbytes >= _common.POOL_MIN
    _check(y, want[0])
    a = _addr(y)
    del y
    assert len(_common._POOL) == 1
    y2 = fastconv.convolve(x, ks[1], mode="same")
    assert _addr(y2) == a and len(_common._POOL) == 0
    _check(y2, want[1])


def test_a_live_view_keeps_its_block_out_of_the_pool(data):
    x, ks, want = data
    y = fastconv.convolve(x, ks[0], mode="same")
    view = y[100:200, 7::3].T
    snap = view.copy()
    del y
    assert len(_common._POOL) == 0            # the view holds the block
    y2 = fastconv.convolve(x, ks[1], mode="same")
    assert not np.shares_memory(view, y2)
    np.testing.assert_array_equal(view, snap)
    _check(y2, want[1])
    del view
    assert len(_common._POOL) == 1


def test_two_live_results_never_share(data):
    x, ks, want = data
    ys = [fastconv.convolve(x, k, mode="same") for k in ks]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(ys[i], ys[j])
    for y, w in zip(ys, want):
        _check(y, w)


def test_bounded_by_count_and_bytes(monkeypatch):
    arrays = [_common.result(SHAPE, np.float32) for _ in range(6)]
    del arrays
    assert len(_common._POOL) == _common.POOL_BLOCKS
    monkeypatch.setenv("FASTCONV_RESULT_POOL", "80M")     # two 34 MiB blocks fit
    _common.release_results()
    arrays = [_common.result(SHAPE, np.float32) for _ in range(3)]
    del arrays
    assert len(_common._POOL) == 2
    assert sum(b.nbytes for b in _common._POOL) <= 80 << 20
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "400M")      # an eighth: 50 MiB, one block
    arrays = [_common.result(SHAPE, np.float32) for _ in range(3)]
    del arrays
    assert len(_common._POOL) == 1


def test_off_small_and_oversized_are_plain_arrays(monkeypatch):
    assert _common.result((300, 400), np.float64).flags.owndata        # 0.96 MB: below
    monkeypatch.setenv("FASTCONV_RESULT_POOL", "0")
    y = _common.result(SHAPE, np.float32)
    assert y.flags.owndata
    del y
    assert len(_common._POOL) == 0
    monkeypatch.setenv("FASTCONV_RESULT_POOL", "40M")
    assert _common.result((2 * SHAPE[0], SHAPE[1]), np.float32).flags.owndata  # over the cap


def test_sizes_and_dtypes_match_what_was_asked():
    a = _common.result((3, 5000, 701), np.complex64)
    assert a.shape == (3, 5000, 701) and a.dtype == np.complex64 and a.flags.c_contiguous
    a[...] = 1 + 2j
    del a
    # a smaller request does not take a block far larger than it needs
    b = _common.result((1, 5000, 701), np.complex64)
    assert len(_common._POOL) == 1                     # a fresh block for b
    c = _common.result((3, 5000, 700), np.complex64)     # fits the idle block
    assert not c.flags.owndata and len(_common._POOL) == 0
    assert not np.shares_memory(b, c)


def test_garbage_collector_inside_the_lock_drops_the_block():
    a = _common.result(SHAPE, np.float32)
    with _common._POOL_LOCK:            # as if the collector ran inside result()
        del a
    assert len(_common._POOL) == 0      # dropped (freed), no deadlock


def test_threads_allocating_and_freeing_get_their_own_results(data):
    x, ks, want = data
    errors = []

    def work(i):
        try:
            for r in range(4):
                y = fastconv.convolve(x, ks[(i + r) % 3], mode="same")
                _check(y, want[(i + r) % 3])
                del y
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_pooled_results_start_on_a_page():
    # fresh blocks and blocks lent again: the array's first byte on a page
    # (64-byte vector stores never straddle two cache lines), every byte
    # of it inside its block
    for shape, dt in [(SHAPE, np.float32), ((3, 1001, 999), np.float64),
                      ((7, 400, 401), np.uint8)]:
        for _ in range(3):
            a = _common.result(shape, dt)
            assert not a.flags.owndata and _addr(a) % _common.PAGE == 0
            a[...] = 1
            assert a.sum(dtype=np.float64) == a.size
            del a
        assert len(_common._POOL) >= 1


def test_settings_follow_the_environment_at_once(monkeypatch):
    from fastconv import _config

    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "3M")
    assert _config.max_memory() == 3 << 20
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "5M")
    assert _config.max_memory() == 5 << 20
    monkeypatch.delenv("FASTCONV_MAX_MEMORY")
    assert _config.max_memory() == _config._default_budget()
    # (the variable is the default under any set_threads()/threads() in force)
    monkeypatch.setenv("FASTCONV_THREADS", "1")
    assert _config._env_threads() == 1
    monkeypatch.setenv("FASTCONV_THREADS", "x")
    with pytest.raises(ValueError, match="FASTCONV_THREADS"):
        _config._env_threads()
    monkeypatch.delenv("FASTCONV_THREADS")
    assert _config._env_threads() is None
