"""fastconv reverb / fastconv ir: streamed WAV convolution, checked against
scipy.io.wavfile (the anchor reader/writer) and an offline convolution."""
import os
import tracemalloc

import numpy as np
import pytest
import scipy.io.wavfile as wavfile

import fastconv
from fastconv import cli
from fastconv.io import wav as _wav

FS = 8000


def write(path, data, fs=FS):
    wavfile.write(str(path), fs, data)
    return str(path)


def expected(dry, ir, mix, normalize=True):
    """Offline reference: float dry (n, cd), ir (K, ch) -> float output."""
    h = ir.T.astype(np.float64)
    if normalize:
        h = h / np.sqrt(np.sum(h ** 2) / h.shape[0])
    cout = max(dry.shape[1], h.shape[0])
    if h.shape[0] == 1:
        h = np.repeat(h, cout, 0)
    x = np.repeat(dry, cout, 1) if dry.shape[1] == 1 else dry
    wet = np.stack([np.convolve(x[:, c], h[c]) for c in range(cout)], 1)
    d = np.zeros_like(wet)
    d[:x.shape[0]] = x
    return (1 - mix) * d + mix * wet


@pytest.mark.parametrize("cd,ch", [(1, 1), (2, 2), (2, 1), (1, 2)])
@pytest.mark.parametrize("block", [64, 16384])
def test_reverb_matches_offline_convolution(tmp_path, rng, cd, ch, block):
    dry = (rng.standard_normal((3000, cd)) * 3000).astype(np.int16)
    ir = (rng.standard_normal((700, ch)) * np.exp(-np.arange(700) / 100.0)[:, None]).astype(
        np.float32)
    d = write(tmp_path / "dry.wav", dry if cd > 1 else dry[:, 0])
    i = write(tmp_path / "ir.wav", ir if ch > 1 else ir[:, 0])
    out = tmp_path / "wet.wav"
    assert cli.main(["reverb", d, "--ir", i, "-o", str(out), "--mix", "0.4", "--block",
                     str(block), "--quiet"]) == 0
    rate, got = wavfile.read(out)
    assert rate == FS and got.dtype == np.int16
    got = got.reshape(got.shape[0], -1)
    want = expected(dry / 32768.0, ir.astype(np.float64), 0.4)
    want_i = np.clip(np.rint(want * 32768), -32768, 32767)
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want_i.astype(int)).max() <= 1


def test_float_and_24bit_formats_roundtrip(tmp_path, rng):
    x = rng.uniform(-0.5, 0.5, (1000, 2))
    for kind, width in [("float", 4), ("int", 3), ("int", 2), ("int", 1), ("float", 8)]:
        p = str(tmp_path / f"t{kind}{width}.wav")
        w = _wav.WavWriter(p, FS, 2, kind, width)
        w.write(x[:300])
        w.write(x[300:])
        w.close()
        rate, data = wavfile.read(p)                          # the anchor reads it
        with _wav.WavReader(p) as r:
            back = np.concatenate([r.read(128) for _ in range(10)])
        tol = {1: 1 / 128, 2: 1 / 32768, 3: 1 / 2**23}.get(width, 1e-7)
        assert rate == FS and back.shape == x.shape
        assert np.abs(back - x).max() <= tol
        if kind == "int" and width == 2:
            assert np.abs(data / 32768.0 - x).max() <= tol


def test_ir_command_and_errors(tmp_path, capsys, rng):
    ir = tmp_path / "ir.wav"
    assert cli.main(["ir", "--synthetic", "room", "-o", str(ir), "--fs", str(FS),
                     "--seconds", "0.3"]) == 0
    rate, h = wavfile.read(ir)
    assert rate == FS and h.shape == (int(0.3 * FS), 2) and h.dtype == np.float32
    late = np.abs(h[int(0.2 * FS):]).max()
    assert np.abs(h).max() <= 0.9 + 1e-6 and late < 0.2           # it decays
    dry = write(tmp_path / "dry.wav", (rng.standard_normal(500) * 1000).astype(np.int16))
    other = write(tmp_path / "other.wav", np.zeros(100, np.int16), fs=FS * 2)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF1234WAVEjunk")
    cases = [
        (["reverb", dry, "--ir", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o.wav")],
         "no such file"),
        (["reverb", dry, "--ir", other, "-o", str(tmp_path / "o.wav")], "sample rates differ"),
        (["reverb", dry, "--ir", str(junk), "-o", str(tmp_path / "o.wav")], "WAV"),
        (["reverb", dry, "--ir", str(ir), "-o", dry], "refusing to overwrite"),
        (["reverb", dry, "--ir", str(ir), "-o", str(tmp_path / "o.wav"), "--mix", "2"], "--mix"),
        (["ir", "--synthetic", "hall", "-o", str(tmp_path / "o.wav")], "only 'room'"),
    ]
    before = open(dry, "rb").read()
    for argv, msg in cases:
        assert cli.main(argv) == 2, argv
        assert msg in capsys.readouterr().err
    assert open(dry, "rb").read() == before
    assert not os.path.exists(tmp_path / "o.wav")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]   # no temp files


def test_reverb_streams_in_bounded_memory(tmp_path, rng):
    # 60 s of stereo at 48 kHz (23 MB of samples as float64) through a 1 s IR:
    # the traced peak stays far below the size of the signal
    fs = 48000
    path = str(tmp_path / "long.wav")
    w = _wav.WavWriter(path, fs, 2, "int", 2)
    for _ in range(60):
        w.write(rng.uniform(-0.3, 0.3, (fs, 2)))
    w.close()
    ir = write(tmp_path / "ir.wav", (rng.standard_normal(fs) * np.exp(-np.arange(fs) / 5000.0)
                                     ).astype(np.float32), fs=fs)
    tracemalloc.start()
    try:
        assert cli.main(["reverb", path, "--ir", ir, "-o", str(tmp_path / "wet.wav"),
                         "--quiet"]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, peak                           # signal alone: 23 MB (float64 2x60 s)
    with _wav.WavReader(str(tmp_path / "wet.wav")) as r:
        assert r.frames == 60 * fs + fs - 1


def test_reverb_odd_block_through_a_long_ir(tmp_path, rng):
    """issue 17: --block 1000 through a 3 s IR wrote garbage with exit 0 (a
    partition level that never ran on a block boundary)."""
    import scipy.signal as ss

    fs = 16000
    dry = (rng.standard_normal(fs * 2) * 3000).astype(np.int16)
    ir = (rng.standard_normal(fs * 3) * np.exp(-np.arange(fs * 3) / 12000.0)).astype(
        np.float32)
    d = write(tmp_path / "dry.wav", dry, fs)
    i = write(tmp_path / "ir.wav", ir, fs)
    out = tmp_path / "wet.wav"
    assert cli.main(["reverb", d, "--ir", i, "-o", str(out), "--mix", "1", "--block",
                     "1000", "--quiet"]) == 0
    _, got = wavfile.read(out)
    h = ir.astype(np.float64)
    want = ss.fftconvolve(dry / 32768.0, h / np.sqrt(np.sum(h ** 2)))
    want_i = np.clip(np.rint(want * 32768), -32768, 32767)
    assert np.abs(got.astype(int) - want_i.astype(int)).max() <= 1


def test_process_tail_matches_fastconv(rng):
    # the same numbers as the library call the CLI is built on
    from fastconv.stream import Convolver

    x = rng.standard_normal(5000)
    h = rng.standard_normal(1200)
    c = Convolver(h, block_size=512)
    y = np.concatenate([c.process(x), c.flush()])[512:]
    np.testing.assert_allclose(y, fastconv.convolve(x, h), atol=1e-9)
