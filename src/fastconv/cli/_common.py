"""What every command shares: the user-error type, reading and writing files.

Outputs are written atomically (a temporary file in the output's folder,
then a rename) with the permissions a new file gets under the umask; inputs
are never overwritten; decoded images are limited to ``MAX_PIXELS``.
"""
from __future__ import annotations

import os
import tempfile
import zlib

import numpy as np

from .._config import new_file_mode


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


#: largest decoded image (pixels x channels) a command reads
MAX_PIXELS = 1 << 28
#: output formats by extension (imageio's writers for these are tested)
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


def _imageio():
    try:
        import imageio.v3 as iio
    except ImportError:
        raise CLIError("reading and writing images needs imageio: "
                       "pip install 'fastconv[image]'") from None
    return iio


def _check_pixels(path, shape):
    n = 1
    for s in shape:
        n *= int(s)
    if n > MAX_PIXELS:
        raise CLIError(f"{path}: {shape} is {n} samples, more than the limit of "
                       f"{MAX_PIXELS} (a decompression bomb, or an image too large "
                       f"for one machine)")


def read_image(path):
    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file")
    from ..io import png16 as _png16

    try:
        head = _png16.header(path)
    except OSError as exc:
        raise CLIError(f"{path}: cannot read it ({exc.strerror})") from None
    if head is not None:          # PNG: size from the header, before decoding
        _check_pixels(path, (head[1], head[0], 4))

    try:
        if _png16.is_16bit_colour(path):      # Pillow would reduce these to 8 bits
            return _png16.read(path)
    except (OSError, ValueError, zlib.error) as exc:
        raise CLIError(f"{path}: cannot read it as an image ({exc})") from None
    iio = _imageio()
    if head is None:
        try:
            shape = iio.improps(path).shape
        except Exception:             # unreadable: imread below reports it
            shape = ()
        _check_pixels(path, shape)
    try:
        img = np.asarray(iio.imread(path))
    except Exception as exc:           # imageio raises many types for bad files
        raise CLIError(f"{path}: cannot read it as an image ({exc.__class__.__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else 'unknown format'})") from None
    if img.ndim == 3 and img.shape[-1] not in (1, 2, 3, 4) or img.ndim not in (2, 3):
        raise CLIError(f"{path}: unsupported image layout {img.shape} (expected HxW or "
                       "HxWxC with 1-4 channels)")
    return img


def check_output(out, inputs, extensions=None):
    """Before any work: refuse to overwrite an input or a folder; the folder
    must exist and be writable; ``extensions`` (if given) must name the
    output's format."""
    real_out = os.path.realpath(out)
    for p in inputs:
        if os.path.exists(p) and os.path.realpath(p) == real_out:
            raise CLIError(f"refusing to overwrite the input {p}; choose another -o")
    if os.path.isdir(out):
        raise CLIError(f"{out} is a folder; -o needs a file name")
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d):
        raise CLIError(f"{out}: folder {d} does not exist")
    if not os.access(d, os.W_OK | os.X_OK):
        raise CLIError(f"{out}: folder {d} is not writable")
    if extensions is not None and os.path.splitext(out)[1].lower() not in extensions:
        raise CLIError(f"{out}: unknown output format {os.path.splitext(out)[1]!r}; "
                       f"use one of {', '.join(extensions)}")


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename onto ``path`` (same folder)."""
    d = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    suffix = os.path.splitext(base)[1]
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{base}.", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, new_file_mode())    # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_image(path, img):
    iio = _imageio()
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jpg", ".jpeg") and img.dtype != np.uint8:
        img = np.clip(np.rint(img.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)

    def write(tmp):
        if ext == ".png" and img.dtype == np.uint16 and img.ndim == 3:
            from ..io import png16 as _png16

            return _png16.write(tmp, img)      # 16-bit colour: Pillow cannot
        try:
            iio.imwrite(tmp, img, extension=ext or None)
        except Exception as exc:
            raise CLIError(f"{path}: cannot write it ({exc})") from None
    atomic_write(path, write)


