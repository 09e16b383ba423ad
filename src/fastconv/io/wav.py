"""Streaming WAV reader/writer (RIFF): PCM 8/16/24/32-bit and float 32/64.

Reads and writes in chunks so hour-long files never sit in memory; samples
are exchanged as float arrays of shape (frames, channels), integers scaled
to [-1, 1).  Written files are complete only when closed: the writer works
on a temporary file in the destination folder and renames it at ``close``
(an interrupted run leaves no half-written output).
"""
from __future__ import annotations

import os
import struct
import tempfile

import numpy as np

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


class WavError(ValueError):
    """Not a WAV file, or a WAV flavour this module does not handle."""


class WavReader:
    def __init__(self, path):
        self.path = path
        self._f = open(path, "rb")
        try:
            self._parse()
        except Exception:
            self._f.close()
            raise

    def _parse(self):
        f = self._f
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise WavError(f"{self.path}: not a RIFF/WAVE file")
        fmt = None
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                raise WavError(f"{self.path}: no data chunk")
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size)
                if size % 2:
                    f.read(1)
            elif cid == b"data":
                if fmt is None:
                    raise WavError(f"{self.path}: data chunk before fmt chunk")
                self._data = f.tell()
                self._size = size
                break
            else:
                f.seek(size + (size % 2), 1)
        if len(fmt) < 16:
            raise WavError(f"{self.path}: truncated fmt chunk")
        tag, self.channels, self.rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]
        if tag not in (PCM, FLOAT):
            raise WavError(f"{self.path}: WAV format tag {tag} (compressed?) is not supported; "
                           "use PCM or float WAV")
        if self.channels < 1 or self.rate < 1:
            raise WavError(f"{self.path}: invalid header ({self.channels} channels, "
                           f"{self.rate} Hz)")
        self.kind = "float" if tag == FLOAT else "int"
        self.bits = bits
        if (self.kind, bits) not in (("int", 8), ("int", 16), ("int", 24), ("int", 32),
                                     ("float", 32), ("float", 64)):
            raise WavError(f"{self.path}: {bits}-bit {self.kind} samples are not supported")
        self.width = bits // 8
        self.frame_bytes = self.width * self.channels
        actual = os.path.getsize(self.path) - self._data
        self.frames = min(self._size, max(actual, 0)) // self.frame_bytes
        self._pos = 0

    def read(self, n):
        """Up to ``n`` frames as float64 (frames, channels); empty at the end."""
        n = min(n, self.frames - self._pos)
        if n <= 0:
            return np.zeros((0, self.channels))
        self._f.seek(self._data + self._pos * self.frame_bytes)
        raw = self._f.read(n * self.frame_bytes)
        n = len(raw) // self.frame_bytes
        self._pos += n
        return decode(raw[:n * self.frame_bytes], self.kind, self.width, self.channels)

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def decode(raw, kind, width, channels):
    if kind == "float":
        a = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
    elif width == 1:
        a = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        a = v.astype(np.float64) / float(1 << 23)
    else:
        dt = "<i2" if width == 2 else "<i4"
        a = np.frombuffer(raw, dtype=dt).astype(np.float64) / float(1 << (8 * width - 1))
    return a.reshape(-1, channels)


def encode(x, kind, width):
    """float (frames, channels) -> bytes; returns (bytes, clipped sample count)."""
    if kind == "float":
        return np.ascontiguousarray(x, dtype="<f4" if width == 4 else "<f8").tobytes(), 0
    scale = 128.0 if width == 1 else float(1 << (8 * width - 1))
    v = np.rint(x * scale)
    lo, hi = -scale, scale - 1
    clipped = int(np.count_nonzero((v < lo) | (v > hi)))
    v = np.clip(v, lo, hi)
    if width == 1:
        return (v + 128).astype(np.uint8).tobytes(), clipped
    if width == 3:
        i = v.astype(np.int32).reshape(-1)
        b = np.empty((i.size, 3), np.uint8)
        b[:, 0] = i & 0xFF
        b[:, 1] = (i >> 8) & 0xFF
        b[:, 2] = (i >> 16) & 0xFF
        return b.tobytes(), clipped
    return v.astype("<i2" if width == 2 else "<i4").tobytes(), clipped


class WavWriter:
    """Write frames in chunks; the file appears (atomically) at ``close()``."""

    def __init__(self, path, rate, channels, kind="int", width=2):
        self.path = path
        self.rate, self.channels, self.kind, self.width = int(rate), int(channels), kind, width
        self.clipped = 0
        self._frames = 0
        d = os.path.dirname(os.path.abspath(path))
        fd, self._tmp = tempfile.mkstemp(dir=d, prefix=f".{os.path.basename(path)}.",
                                         suffix=".wav")
        self._f = os.fdopen(fd, "wb")
        self._f.write(self._header(0))

    def _header(self, frames):
        tag = FLOAT if self.kind == "float" else PCM
        align = self.channels * self.width
        data = frames * align
        fmt = struct.pack("<HHIIHH", tag, self.channels, self.rate, self.rate * align, align,
                          8 * self.width)
        return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " +
                struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data))

    def write(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.channels)
        raw, clipped = encode(x, self.kind, self.width)
        if (self._frames + x.shape[0]) * self.channels * self.width > 0xFFFFFFFF - 36:
            raise WavError("output exceeds the 4 GiB limit of a RIFF/WAVE file")
        self._f.write(raw)
        self._frames += x.shape[0]
        self.clipped += clipped

    def close(self):
        if self._f is None:
            return
        self._f.seek(0)
        self._f.write(self._header(self._frames))
        self._f.close()
        self._f = None
        from .._config import new_file_mode

        os.chmod(self._tmp, new_file_mode())   # as a new file under the umask
        os.replace(self._tmp, self.path)

    def abort(self):
        if self._f is not None:
            self._f.close()
            self._f = None
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)
