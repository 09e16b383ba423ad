"""Naive reference implementations: the ground truth of the tests.

Deliberately simple and slow: explicit index arithmetic for boundary
extension (independent of numpy.pad) and a loop over kernel taps with
shifted accumulation for the convolution.  Integers are accumulated in
Python ints (object arrays), so they are exact at any size.
"""
import itertools

import numpy as np


def source_index(i, n, boundary):
    """Index into an axis of length n for a (possibly outside) position i.

    Returns None when the value is the constant fill.
    """
    if 0 <= i < n:
        return i
    if boundary == "constant":
        return None
    if boundary == "edge":
        return 0 if i < 0 else n - 1
    if boundary == "wrap":
        return i % n
    if boundary == "symmetric":          # a b c | c b a | a b c ...
        p = i % (2 * n)
        return p if p < n else 2 * n - 1 - p
    if boundary == "reflect":            # a b c | b a | b c ...
        if n == 1:
            return 0
        p = i % (2 * n - 2)
        return p if p < n else 2 * n - 2 - p
    raise ValueError(boundary)


def extend(x, pads, boundary, cval=0):
    """Extend x by pads[(before, after)] per axis with the named boundary."""
    x = np.asarray(x)
    out_shape = [n + a + b for n, (a, b) in zip(x.shape, pads)]
    out = np.empty(out_shape, dtype=object if x.dtype.kind in "biu" else x.dtype)
    for idx in itertools.product(*[range(s) for s in out_shape]):
        src = []
        for i, n, (a, _) in zip(idx, x.shape, pads):
            src.append(source_index(i - a, n, boundary))
        out[idx] = cval if any(s is None for s in src) else x[tuple(src)].item()
    return out


def full_convolve(x, k):
    """Full N-D linear convolution by shifted accumulation over kernel taps."""
    x = np.asarray(x)
    k = np.asarray(k)
    exact = x.dtype.kind in "biuO" and k.dtype.kind in "biuO"
    if exact:
        x = np.vectorize(int, otypes=[object])(x)
        k = np.vectorize(int, otypes=[object])(k)
        acc_dtype = object
    else:
        acc_dtype = np.result_type(x.dtype, k.dtype, np.float64)
        x = x.astype(acc_dtype)
        k = k.astype(acc_dtype)
    shape = [a + b - 1 for a, b in zip(x.shape, k.shape)]
    y = np.zeros(shape, dtype=acc_dtype)
    if exact:
        y[...] = 0
    for j in itertools.product(*[range(s) for s in k.shape]):
        sl = tuple(slice(jj, jj + n) for jj, n in zip(j, x.shape))
        y[sl] = y[sl] + k[j] * x
    return y


def convolve(x, k, mode="full", boundary="constant", cval=0):
    """Reference for fastconv.convolve over all axes of x and k."""
    x = np.asarray(x)
    k = np.asarray(k)
    if mode == "valid" and not all(a >= b for a, b in zip(x.shape, k.shape)):
        x, k = k, x
    K = k.shape
    pads = [(m - 1, m - 1) for m in K]
    ext = extend(x, pads, boundary, cval)
    if x.dtype.kind not in "biu":
        ext = ext.astype(x.dtype)
    full = full_convolve(ext, k)       # index p <-> output n = p - (K - 1)
    sl = []
    for n, m in zip(x.shape, K):
        if mode == "full":
            s, L = 0, n + m - 1
        elif mode == "same":
            s, L = (m - 1) // 2, n
        else:
            s, L = m - 1, n - m + 1
        sl.append(slice(s + m - 1, s + m - 1 + L))
    return full[tuple(sl)]


def convolve_products(x, k, mode="full", boundary="constant", cval=0):
    """As :func:`convolve`, the sums holding only the products of the
    definition: an input extended by zeros ('constant' with cval 0, and the
    edges of every full result) adds no product, so an infinite tap meeting
    it gives +-inf or its sum, not 0 x inf = NaN.  Other boundaries (and a
    non-zero cval) extend the input with data, as :func:`convolve`."""
    if boundary != "constant" or cval != 0:
        return convolve(x, k, mode, boundary, cval)
    x = np.asarray(x)
    k = np.asarray(k)
    if mode == "valid" and not all(a >= b for a, b in zip(x.shape, k.shape)):
        x, k = k, x
    with np.errstate(invalid="ignore", over="ignore"):
        full = full_convolve(x, k)
    sl = []
    for n, m in zip(x.shape, k.shape):
        s, L = {"full": (0, n + m - 1), "same": ((m - 1) // 2, n),
                "valid": (m - 1, n - m + 1)}[mode]
        sl.append(slice(s, s + L))
    return full[tuple(sl)]


def correlate(x, k, mode="full", boundary="constant", cval=0):
    k = np.asarray(k)
    k = k[(slice(None, None, -1),) * k.ndim]
    if k.dtype.kind == "c":
        k = np.conj(k)
    return convolve(x, k, mode, boundary, cval)


def ndimage_correlate(x, w, mode, cval=0.0, origin=0):
    """Reference for scipy.ndimage.correlate semantics via explicit loops."""
    names = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect",
             "nearest": "edge", "wrap": "wrap", "grid-wrap": "wrap",
             "constant": "constant", "grid-constant": "constant"}
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    origins = [origin] * x.ndim if np.ndim(origin) == 0 else list(origin)
    out = np.zeros(x.shape)
    for idx in itertools.product(*[range(s) for s in x.shape]):
        acc = 0.0
        for j in itertools.product(*[range(s) for s in w.shape]):
            src = [source_index(i + jj - (L // 2 + o), n, names[mode])
                   for i, jj, L, o, n in zip(idx, j, w.shape, origins, x.shape)]
            v = cval if any(s is None for s in src) else x[tuple(src)]
            acc += w[j] * v
        out[idx] = acc
    return out


def nan_interpolate(x, k, mode="full", boundary="constant", cval=0.0, mask=None,
                    normalize=False):
    """Reference NaN-interpolating convolution (astropy semantics), by loops.

    Each output: sum of k * x over the valid samples of its window divided by
    the sum of k over them (times sum(k) unless normalize); NaN when no valid
    sample.  The outside of the array is extended by the boundary rule, the
    validity with it (constant: valid unless cval is NaN).
    """
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    bad = np.isnan(x) if mask is None else (np.isnan(x) | np.asarray(mask, bool))
    xv = np.where(bad, 0.0, x)
    v = (~bad).astype(np.float64)
    c_nan = boundary == "constant" and np.isnan(cval)
    num = convolve(xv, k, mode, boundary, 0.0 if c_nan else cval)
    den = convolve(v, k, mode, boundary, 0.0 if c_nan else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = num / den
    y[np.abs(den) < 1e-12 * np.abs(k).sum()] = np.nan
    return y if normalize else y * k.sum()


def long_conv(u, k1, k2=None, mode="causal"):
    """Reference sequence convolution by loops over the taps, float64:
    u (B, H, L), kernels (H or 1, Lk).  causal: y[t] = sum_j k1[j] u[t-j]
    (t-j >= 0); bidirectional adds sum_j k2[j] u[t+j] (t+j < L); circular:
    t-j mod L."""
    u = np.asarray(u, dtype=np.float64)
    k1 = np.asarray(k1, dtype=np.float64)
    B, H, L = u.shape
    y = np.zeros_like(u)
    for j in range(k1.shape[1]):
        c = k1[:, j][:, None]
        if mode == "circular":
            y += c * np.roll(u, j, axis=-1)
        elif j < L:
            y[..., j:] += c * u[..., :L - j]
    if k2 is not None:
        k2 = np.asarray(k2, dtype=np.float64)
        for j in range(k2.shape[1]):
            if j < L:
                y[..., :L - j] += k2[:, j][:, None] * u[..., j:]
    return y


# ------------------------------------------------ probability (fastconv.stats)
def pmf_convolve_exact(*pmfs):
    """The distribution of a sum in exact rational arithmetic (Fractions of
    the float inputs, which are exact binary fractions)."""
    from fractions import Fraction

    acc = [Fraction(1)]
    for p in pmfs:
        q = [Fraction(float(v)) for v in p]
        out = [Fraction(0)] * (len(acc) + len(q) - 1)
        for i, a in enumerate(acc):
            if a:
                for j, b in enumerate(q):
                    out[i + j] += a * b
        acc = out
    return acc


def panjer_longdouble(f, a, b, log_g0, n):
    """The (a, b, 0) recursion in long double (64-bit mantissa on x86, an
    exponent range to 1e-4951: no underflow of P(S=0) for any count we
    test), one term at a time, as the textbook writes it."""
    f = np.asarray(f, np.longdouble)
    g = np.zeros(n, np.longdouble)
    g[0] = np.exp(np.longdouble(log_g0))
    c = 1 / (1 - np.longdouble(a) * f[0])
    for s in range(1, n):
        acc = np.longdouble(0)
        for j in range(1, min(s, f.size - 1) + 1):
            acc += (np.longdouble(a) + np.longdouble(b) * j / s) * f[j] * g[s - j]
        g[s] = acc * c
    return g


def poisson_binomial_exact(p):
    """P(number of successes = k) for independent trials, in Fractions."""
    from fractions import Fraction

    dist = [Fraction(1)]
    for x in p:
        q = Fraction(float(x))
        new = [Fraction(0)] * (len(dist) + 1)
        for k, d in enumerate(dist):
            new[k] += d * (1 - q)
            new[k + 1] += d * q
        dist = new
    return dist


def _layer_pairs(n, O, K, stride, dilation, pads):
    """Every (output index, tap, input index) of a layer whose input sample
    lies inside the unpadded input: zero padding adds no product."""
    for o in itertools.product(*[range(m) for m in O]):
        for k in itertools.product(*[range(m) for m in K]):
            i = tuple(oo * s + kk * d - p for oo, kk, s, d, p in zip(o, k, stride, dilation, pads))
            if all(0 <= ii < nn for ii, nn in zip(i, n)):
                yield o, k, i


def layer_out_shape(n, K, stride, dilation, pads):
    return tuple((nn + 2 * p - d * (k - 1) - 1) // s + 1
                 for nn, k, s, d, p in zip(n, K, stride, dilation, pads))


def layer_forward(x, w, stride, dilation, pads, groups):
    """torch.nn.functional.conv{1,2,3}d (symmetric zero padding ``pads`` per
    dim) by its definition, in float64: y[n, o, p] = sum over channels of
    the group and taps whose sample is inside x of w[o, c, k] x[n, c, i]."""
    N, C = x.shape[:2]
    Co, cg, K = w.shape[0], w.shape[1], w.shape[2:]
    og = Co // groups
    O = layer_out_shape(x.shape[2:], K, stride, dilation, pads)
    y = np.zeros((N, Co) + O)
    with np.errstate(invalid="ignore", over="ignore"):
        for o, k, i in _layer_pairs(x.shape[2:], O, K, stride, dilation, pads):
            for g in range(groups):
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg)) + i].astype(np.float64)
                ws = w[(slice(g * og, (g + 1) * og), slice(None)) + k].astype(np.float64)
                y[(slice(None), slice(g * og, (g + 1) * og)) + o] += (
                    xs[:, None, :] * ws[None, :, :]).sum(-1)
    return y


def layer_input_grad(x_shape, w, gy, stride, dilation, pads, groups):
    """d(sum(gy * layer_forward(x, w)))/dx by the same products."""
    N, C = x_shape[:2]
    Co, cg, K = w.shape[0], w.shape[1], w.shape[2:]
    og = Co // groups
    gi = np.zeros(x_shape)
    with np.errstate(invalid="ignore", over="ignore"):
        for o, k, i in _layer_pairs(x_shape[2:], gy.shape[2:], K, stride, dilation, pads):
            for g in range(groups):
                gs = gy[(slice(None), slice(g * og, (g + 1) * og)) + o].astype(np.float64)
                ws = w[(slice(g * og, (g + 1) * og), slice(None)) + k].astype(np.float64)
                gi[(slice(None), slice(g * cg, (g + 1) * cg)) + i] += (
                    gs[:, :, None] * ws[None, :, :]).sum(1)
    return gi


def layer_weight_grad(x, w_shape, gy, stride, dilation, pads, groups):
    """d(sum(gy * layer_forward(x, w)))/dw by the same products."""
    Co, cg, K = w_shape[0], w_shape[1], w_shape[2:]
    og = Co // groups
    gw = np.zeros(w_shape)
    with np.errstate(invalid="ignore", over="ignore"):
        for o, k, i in _layer_pairs(x.shape[2:], gy.shape[2:], K, stride, dilation, pads):
            for g in range(groups):
                gs = gy[(slice(None), slice(g * og, (g + 1) * og)) + o].astype(np.float64)
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg)) + i].astype(np.float64)
                gw[(slice(g * og, (g + 1) * og), slice(None)) + k] += (
                    gs[:, :, None] * xs[:, None, :]).sum(0)
    return gw
