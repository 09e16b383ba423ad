"""The ``fastconv`` command line.

Images (PNG/TIFF/JPEG through imageio: ``pip install 'fastconv[image]'``)::

    fastconv filter in.png -k sobel -o edges.png
    fastconv filter in.png -k gaussian:2 -o blur.png [--mode reflect]
    fastconv filter big.zarr -k gaussian:2 -o blur.zarr     (tiled: chunk by chunk)
    fastconv deblur in.png --psf gaussian:2 -o sharp.png [--method rl|wiener]
    fastconv match scene.png template.png -o heat.png [--top 5]

Audio (WAV, streamed from disk; see fastconv.cli.audio)::

    fastconv ir --synthetic room -o ir.wav
    fastconv reverb dry.wav --ir ir.wav -o wet.wav [--mix 0.3] [--block 256]

Every command reads its inputs, never writes over one of them, and writes
its output atomically (a temporary file in the output's folder, then a
rename), so an interrupted run leaves either the old file or the new one.
8- and 16-bit data and colour are preserved (an alpha channel is passed
through unfiltered).  Errors (missing or unreadable files, bad kernel specs,
bad options) print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys

from ._common import CLIError


def build_parser():
    ap = _Parser(prog="fastconv", description="Convolution tools: image filters, "
                 "deblurring, template matching, reverb.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    from . import audio, images

    images.add_commands(sub)
    audio.add_commands(sub)
    w = sub.add_parser("warmup", help="compile every kernel ahead (cached on disk), so "
                       "that first calls in later processes are fast")
    w.set_defaults(func=_cmd_warmup)
    return ap


def _cmd_warmup(args):
    from .._warmup import warmup

    print("fastconv warmup: compiling kernels (cached on disk for later processes)")
    print(f"fastconv warmup: done in {warmup(verbose=True):.1f} s")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2, as for every error)."""

    def error(self, message):
        raise CLIError(message)


def main(argv=None):
    """Run the command line; returns the exit status (0, 2 on any error,
    130 on Ctrl-C)."""
    command = "fastconv"
    try:
        ap = build_parser()
        args = ap.parse_args(argv)
        command = f"fastconv {args.command}"
        args.func(args)
    except CLIError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, MemoryError, OverflowError) as exc:
        # the library's own errors name the parameter; files and memory too
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if isinstance(exc, OSError) and exc.filename:
            msg = f"{exc.filename}: {exc.strerror or msg}"
        print(f"{command}: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
