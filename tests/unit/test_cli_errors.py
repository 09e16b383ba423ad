"""Every error path of the command line (issue 17): one line on stderr, exit
status 2 (130 for Ctrl-C), nothing written or left behind, inputs untouched,
outputs created with the umask's permissions."""
import os
import struct
import zlib

import numpy as np
import pytest

from fastconv import cli
from fastconv.io import wav as _wav

iio = pytest.importorskip("imageio.v3")


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((24, 30)) * 255).astype(np.uint8)
    iio.imwrite(tmp_path / "in.png", img)
    iio.imwrite(tmp_path / "tpl.png", img[5:12, 6:14])
    for name, data in (("dry.wav", rng.standard_normal((2000, 1)) * 0.1),
                       ("ir.wav", rng.standard_normal((300, 1)) * 0.1)):
        w = _wav.WavWriter(str(tmp_path / name), 8000, 1, "float", 4)
        w.write(data)
        w.close()
    return tmp_path


def listing(d):
    return sorted(os.listdir(d))


def fails(argv, capsys, d, code=2):
    """Run; the status is ``code``, stderr one line, the folder unchanged."""
    before = {n: os.path.getmtime(os.path.join(d, n)) for n in os.listdir(d)}
    assert cli.main([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    after = {n: os.path.getmtime(os.path.join(d, n)) for n in os.listdir(d)}
    assert after == before, (sorted(after), sorted(before))      # nothing new, nothing touched
    return err


def test_output_names_a_folder(files, capsys):
    os.mkdir(files / "sub")
    err = fails(["filter", files / "in.png", "-k", "box:3", "-o", files / "sub"], capsys, files)
    assert "folder" in err


def test_output_folder_not_writable(files, capsys):
    err = fails(["filter", files / "in.png", "-k", "box:3", "-o", "/proc/fastconv.png"],
                capsys, files)
    assert "/proc" in err


def test_unknown_extension_refused(files, capsys):
    err = fails(["filter", files / "in.png", "-k", "box:3", "-o", files / "out.xyz"],
                capsys, files)
    assert ".xyz" in err


@pytest.mark.parametrize("spec", ["gaussian:100000", "box:0", "motion:9,nan", "nope:3"])
def test_bad_kernel_specs(files, capsys, spec):
    fails(["filter", files / "in.png", "-k", spec, "-o", files / "o.png"], capsys, files)


@pytest.mark.parametrize("extra", [["--iterations", "-5"], ["--balance", "nan",
                                                             "--method", "wiener"],
                                   ["--balance", "-1", "--method", "wiener"]])
def test_deblur_bad_numbers(files, capsys, extra):
    fails(["deblur", files / "in.png", "--psf", "gaussian:1", "-o", files / "o.png"] + extra,
          capsys, files)


def test_match_top_zero_writes_nothing(files, capsys):
    fails(["match", files / "in.png", files / "tpl.png", "-o", files / "heat.png", "--top",
           "0"], capsys, files)


def test_argparse_errors_are_one_line(files, capsys):
    fails(["filter", files / "in.png"], capsys, files)             # -k and -o missing
    fails(["frobnicate"], capsys, files)


def test_nan_in_wav_leaves_no_file(files, capsys):
    w = _wav.WavWriter(str(files / "nan.wav"), 8000, 1, "float", 4)
    x = np.zeros((500, 1))
    x[100] = np.nan
    w.write(x)
    w.close()
    err = fails(["reverb", files / "nan.wav", "--ir", files / "ir.wav", "-o",
                 files / "wet.wav", "--quiet"], capsys, files)
    assert "NaN" in err


def test_ir_too_many_channels_leaves_no_file(files, capsys):
    fails(["ir", "--synthetic", "room", "-o", files / "big.wav", "--channels", "65536"],
          capsys, files)


def test_ir_very_short_works(files):
    assert cli.main(["ir", "--synthetic", "room", "-o", str(files / "short.wav"),
                     "--seconds", "0.001"]) == 0
    assert os.path.exists(files / "short.wav")


def test_decompression_bomb_refused(files, capsys):
    """A 16-bit PNG whose header claims 100000 x 100000 pixels: refused from
    the header, before anything is decoded."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 16, 2, 0, 0, 0)
    blob = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    (files / "bomb.png").write_bytes(blob)
    err = fails(["filter", files / "bomb.png", "-k", "box:3", "-o", files / "o.png"],
                capsys, files)
    assert "limit" in err


def test_ctrl_c_is_one_line_exit_130(files, capsys, monkeypatch):
    from fastconv import filters

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(filters, "filter", interrupted)
    err = fails(["filter", files / "in.png", "-k", "box:3", "-o", files / "o.png"], capsys,
                files, code=130)
    assert "interrupted" in err


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_follow_the_umask(files, mask):
    old = os.umask(mask)
    try:
        out = files / f"o{mask:o}.png"
        assert cli.main(["filter", str(files / "in.png"), "-k", "box:3", "-o", str(out)]) == 0
        wav = files / f"ir{mask:o}.wav"
        assert cli.main(["ir", "--synthetic", "room", "-o", str(wav), "--seconds", "0.05"]) == 0
    finally:
        os.umask(old)
    for p in (out, wav):
        assert os.stat(p).st_mode & 0o777 == 0o666 & ~mask
