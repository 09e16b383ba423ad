"""Audio commands of the ``fastconv`` command line.

    fastconv reverb dry.wav --ir ir.wav -o wet.wav [--mix 0.3] [--block 16384]
    fastconv ir --synthetic room -o ir.wav [--seconds 1.2] [--rt60 0.7] [--channels 2]

``reverb`` streams the dry file from disk through :class:`fastconv.stream.Convolver`
in bounded memory (chunks of at most 65536 frames; the IR is held whole),
with a progress bar on stderr.  Channels: equal counts are filtered pairwise,
a mono IR is applied to every channel, a mono input through an N-channel IR
gives N channels.  The IR is scaled to unit energy (``--no-normalize`` keeps
it as is); the output is ``(1 - mix) * dry + mix * wet`` and runs
``len(ir) - 1`` samples longer than the input (the reverb tail), in the
input's sample format (integer formats clip; the count is reported).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from ._common import CLIError, check_output

READ_FRAMES = 65536


def _open_wav(path):
    from ..io.wav import WavError, WavReader

    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file")
    try:
        return WavReader(path)
    except WavError as exc:
        raise CLIError(f"{exc} (only WAV files are read)") from None
    except OSError as exc:
        raise CLIError(f"{path}: cannot read it ({exc.strerror})") from None


def _progress(done, total, t0, quiet):
    if quiet or total <= 0:
        return
    frac = min(done / total, 1.0)
    bar = "#" * int(30 * frac)
    rate = done / max(time.perf_counter() - t0, 1e-9)
    sys.stderr.write(f"\r[{bar:<30}] {100 * frac:5.1f}%  {rate / 1e6:6.2f} Mframes/s")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_reverb(args):
    from ..io.wav import WavWriter
    from ..stream import Convolver

    check_output(args.output, [args.input, args.ir], (".wav",))
    if not 0.0 <= args.mix <= 1.0:
        raise CLIError(f"--mix must be between 0 and 1, got {args.mix}")
    if args.block < 1:
        raise CLIError(f"--block must be >= 1, got {args.block}")
    with _open_wav(args.ir) as r:
        ir = r.read(r.frames)
        ir_rate = r.rate
    if ir.shape[0] == 0:
        raise CLIError(f"{args.ir}: the impulse response is empty")
    dry = _open_wav(args.input)
    try:
        if dry.rate != ir_rate:
            raise CLIError(f"sample rates differ: {args.input} is {dry.rate} Hz, {args.ir} "
                           f"is {ir_rate} Hz (resample one of them first)")
        cd, ch = dry.channels, ir.shape[1]
        if not (cd == ch or ch == 1 or cd == 1):
            raise CLIError(f"{args.input} has {cd} channels and {args.ir} has {ch}: use a "
                           "mono IR, a mono input, or equal channel counts")
        cout = max(cd, ch)
        h = ir.T                                     # (ch, K)
        if not args.no_normalize:
            e = float(np.sqrt(np.sum(h ** 2) / h.shape[0]))
            if e == 0:
                raise CLIError(f"{args.ir}: the impulse response is all zeros")
            h = h / e
        if ch == 1 and cout > 1:
            h = np.repeat(h, cout, axis=0)
        K = h.shape[1]
        if dry.kind == "int" and dry.width <= 2:
            # 8/16-bit output: single precision is far below its quantisation
            # step (about -140 dB vs -96 dB) and twice as fast
            h = h.astype(np.float32)
        # long blocks: numpy kernels (numba is never imported, which keeps the
        # command's resident memory about 100 MB smaller); short blocks need
        # numba's per-block speed
        conv = Convolver(h if cout > 1 else h[0], block_size=args.block,
                         backend="numpy" if args.block >= 4096 else "numba")
        lat = conv.latency
        total_out = dry.frames + K - 1
        out = WavWriter(args.output, dry.rate, cout, dry.kind, dry.width)
        try:
            t0 = time.perf_counter()
            written = 0
            dry_q = np.zeros((0, cout))              # dry samples waiting for their wet ones
            skip = lat                               # leading latency samples to drop
            feeding = True
            while written < total_out:
                if feeding:
                    xin = dry.read(READ_FRAMES)
                    if xin.shape[0] == 0:
                        feeding = False
                        yw = conv.flush()            # latency + K - 1 samples
                        xin = np.zeros((0, cout))
                    else:
                        if cd == 1 and cout > 1:
                            xin = np.repeat(xin, cout, axis=1)
                        yw = conv.process(xin.T if cout > 1 else xin[:, 0])
                    yw = np.atleast_2d(yw).reshape(cout, -1).T
                    dry_q = np.concatenate([dry_q, xin])
                else:
                    break
                if skip:
                    d = min(skip, yw.shape[0])
                    yw = yw[d:]
                    skip -= d
                n = min(yw.shape[0], total_out - written)
                yw = yw[:n]
                dd = np.zeros((n, cout))
                m = min(n, dry_q.shape[0])
                dd[:m] = dry_q[:m]
                dry_q = dry_q[m:]
                out.write((1.0 - args.mix) * dd + args.mix * yw)
                written += n
                _progress(written, total_out, t0, args.quiet)
            out.close()
        except BaseException:
            out.abort()
            raise
    finally:
        dry.close()
    msg = (f"{args.input} -> {args.output}: {cd} ch x {dry.frames} frames through "
           f"{ch} ch x {K} IR ({K / dry.rate:.2f} s), block {args.block}, mix {args.mix}")
    if out.clipped:
        msg += f"; {out.clipped} samples clipped (lower --mix or use a float WAV)"
    print(msg)


def cmd_ir(args):
    from ..io.wav import WavWriter

    if args.synthetic != "room":
        raise CLIError(f"--synthetic {args.synthetic!r}: only 'room' is available")
    for name in ("seconds", "rt60"):
        if not getattr(args, name) > 0:
            raise CLIError(f"--{name} must be positive")
    if args.fs < 1000 or not 1 <= args.channels <= 256:
        raise CLIError("--fs must be >= 1000 and --channels between 1 and 256")
    from .._config import max_memory

    need = 3 * 8 * max(int(args.seconds * args.fs), 16) * args.channels
    if need > max_memory():
        raise CLIError(f"--seconds {args.seconds} x --channels {args.channels} at {args.fs} "
                       f"Hz needs about {need / 2**30:.2f} GiB, more than "
                       f"FASTCONV_MAX_MEMORY ({max_memory() / 2**30:.2f} GiB)")
    check_output(args.output, [], (".wav",))
    from ..lti import synthetic_room

    h = synthetic_room(args.fs, args.seconds, args.rt60, args.channels, args.seed)
    w = WavWriter(args.output, args.fs, args.channels, "float", 4)
    try:
        w.write(h)
        w.close()
    except BaseException:
        w.abort()
        raise
    print(f"wrote {args.output}: synthetic room, {args.channels} ch, {args.seconds} s, "
          f"RT60 {args.rt60} s, {args.fs} Hz")


def add_commands(sub):
    r = sub.add_parser("reverb", help="convolve a WAV file with an impulse response "
                       "(streamed from disk)")
    r.add_argument("input", help="dry WAV file")
    r.add_argument("--ir", required=True, help="impulse response WAV file")
    r.add_argument("-o", "--output", required=True)
    r.add_argument("--mix", type=float, default=0.3, help="wet fraction, 0..1 (default 0.3)")
    r.add_argument("--block", type=int, default=16384,
                   help="block size = latency in samples (default 16384, offline)")
    r.add_argument("--no-normalize", action="store_true",
                   help="keep the IR's gain (default: scale it to unit energy)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_reverb)

    i = sub.add_parser("ir", help="make an impulse response WAV (synthetic room)")
    i.add_argument("--synthetic", required=True, help="'room'")
    i.add_argument("-o", "--output", required=True)
    i.add_argument("--fs", type=int, default=48000)
    i.add_argument("--seconds", type=float, default=1.2)
    i.add_argument("--rt60", type=float, default=0.7)
    i.add_argument("--channels", type=int, default=2)
    i.add_argument("--seed", type=int, default=0)
    i.set_defaults(func=cmd_ir)
