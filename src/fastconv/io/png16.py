"""Minimal 16-bit PNG reader/writer (Pillow reads 16-bit colour PNG as 8-bit).

Only what the command line needs: non-interlaced 16-bit grayscale, grey +
alpha, RGB and RGBA images.  Written unfiltered (filter 0) and deflated;
read with all five PNG row filters (Paeth/Average/Sub unfiltered in numba).
Specification: PNG (Third Edition), W3C, sections 7-9.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}          # colour type -> channels
_TYPES = {v: k for k, v in _CHANNELS.items()}


def header(path):
    """(width, height, bit depth, colour type, interlace) or None if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != SIGNATURE or head[12:16] != b"IHDR":
        return None
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", head[16:29])
    return w, h, depth, ctype, interlace


def is_16bit_colour(path):
    h = header(path)
    return h is not None and h[2] == 16 and h[3] in (2, 4, 6) and h[4] == 0


def _unfilter(data, h, stride, bpp):
    from .._kernels.png import unfilter      # compiled on first use

    return unfilter(data, h, stride, bpp)


def read(path):
    """A 16-bit PNG as a uint16 array (H, W) or (H, W, C)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != SIGNATURE or blob[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", blob[16:29])
    if depth != 16 or ctype not in _CHANNELS or interlace:
        raise ValueError("only non-interlaced 16-bit grey/RGB(A) PNGs are handled here")
    pos, idat = 8, []
    while pos + 8 <= len(blob):
        n, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        if kind == b"IDAT":
            idat.append(blob[pos + 8:pos + 8 + n])
        elif kind == b"IEND":
            break
        pos += 12 + n
    c = _CHANNELS[ctype]
    stride = w * c * 2
    data = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    if data.size != h * (stride + 1):
        raise ValueError("truncated or corrupt PNG data")
    rows = _unfilter(data, h, stride, c * 2)
    img = rows.view(">u2").reshape(h, w, c).astype(np.uint16)
    return img[..., 0] if c == 1 else img


def write(path, img):
    """Write a uint16 (H, W) or (H, W, 1-4) array as a 16-bit PNG."""
    a = np.asarray(img, dtype=np.uint16)
    if a.ndim == 2:
        a = a[..., None]
    h, w, c = a.shape
    raw = np.zeros((h, 1 + w * c * 2), dtype=np.uint8)       # filter byte 0 per row
    raw[:, 1:] = a.astype(">u2").view(np.uint8).reshape(h, -1)

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, _TYPES[c], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
                + chunk(b"IEND", b""))
