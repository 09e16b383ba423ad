"""PNG row unfiltering (the five filter types; PNG Third Edition, section 9),
compiled: the 16-bit PNG reader's inner loop (``fastconv.io.png16``)."""
import numpy as np

from . import jit


@jit
def unfilter(data, h, stride, bpp):  # pragma: no cover - jitted
    out = np.zeros((h, stride), dtype=np.uint8)
    pos = 0
    for r in range(h):
        ft = data[pos]
        pos += 1
        for i in range(stride):
            x = np.int32(data[pos + i])
            a = np.int32(out[r, i - bpp]) if i >= bpp else np.int32(0)
            b = np.int32(out[r - 1, i]) if r > 0 else np.int32(0)
            c = np.int32(out[r - 1, i - bpp]) if (r > 0 and i >= bpp) else np.int32(0)
            if ft == 1:
                x += a
            elif ft == 2:
                x += b
            elif ft == 3:
                x += (a + b) // 2
            elif ft == 4:
                p = a + b - c
                pa = abs(p - a)
                pb = abs(p - b)
                pc = abs(p - c)
                if pa <= pb and pa <= pc:
                    x += a
                elif pb <= pc:
                    x += b
                else:
                    x += c
            out[r, i] = np.uint8(x & 255)
        pos += stride
    return out
