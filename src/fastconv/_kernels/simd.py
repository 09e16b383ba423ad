"""Register-blocked 2-D direct correlation with explicit SIMD (LLVM vector IR).

LLVM's loop vectoriser, which the other kernels rely on, keeps one output
vector per loop iteration: every multiply-add then needs a load of the input
and a load (broadcast) of the weight, so a core can do at most about one
multiply-add per cycle, half of its peak (measured 30-45% here).  This kernel
is written in vector IR directly (``numba.extending.intrinsic``): one call
computes a block of ``G`` output rows by ``U`` vectors (4 x 3 vectors = 96
float32 or 48 float64 outputs) held in 12 registers; for every input row and
tap it loads ``U`` input vectors and ``G`` broadcast weights for ``G * U``
fused multiply-adds (7 loads per 12 FMAs), which lets a core run near its FMA
throughput.  The loops over input rows and taps run inside the block (kernel
sizes are run-time values: one compiled kernel serves every shape).

``simd_rows`` has the contract of :func:`fastconv._kernels.direct.corr_rows`
for 2-D problems (one leading axis, batched): groups of ``G`` consecutive
output rows whose input rows are consecutive (the interior, under any
boundary rule) take the vector blocks on the columns whose taps are all in
range; their edge columns and the column remainder, and the rows near a
zero or reflected border, take the same blocks on a small buffer holding
those input rows and columns with the boundary rule applied.

Measured (2048x2048 float32, one thread, 'same'): 5x5 45, 9x9 63-71, 17x17
77-82 GFLOP/s, against 27 / 41 / 52 for the unrolled row kernels
(_kernels/fixed.py) and 40 / 48 / 54 for cv2.filter2D.
"""
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import jit, row_start
from .direct import src_col

#: vectors per block row, and the block rows of the register block
U = 3
G = 4
#: float32 / float64 lanes per 256-bit vector
LANES = {4: 8, 8: 4}

_I64 = ir.IntType(64)


def _c(v):
    return ir.Constant(_I64, v)


def _block(GR):
    """Intrinsic ``blk(x, xo, xs, w, wo, R, K, y, yo, ys)``:
    ``y[yo + g*ys + j] = sum_{r<R, k<K} w[wo + r*K + k] * x[xo + (g+r)*xs + k + j]``
    for ``g < GR`` and ``j < U * lanes``; needs ``R >= GR``."""

    @intrinsic
    def blk(typingctx, x, xo, xs, w, wo, R, K, y, yo, ys):
        sig = types.void(x, xo, xs, w, wo, R, K, y, yo, ys)
        is64 = x.dtype == types.float64
        VF = 4 if is64 else 8

        def codegen(context, builder, signature, args):
            x_, xo_, xs_, w_, wo_, R_, K_, y_, yo_, ys_ = args
            xa = context.make_array(signature.args[0])(context, builder, x_)
            wa = context.make_array(signature.args[3])(context, builder, w_)
            ya = context.make_array(signature.args[7])(context, builder, y_)
            ft = context.get_value_type(signature.args[0].dtype)
            vt = ir.VectorType(ft, VF)
            vpt = vt.as_pointer()
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vt, [vt, vt, vt]),
                "llvm.fma.v%d%s" % (VF, "f64" if is64 else "f32"))
            zmask = ir.Constant(ir.VectorType(ir.IntType(32), VF), [0] * VF)
            undef = ir.Constant(vt, ir.Undefined)
            xp = builder.gep(xa.data, [xo_])
            wp = builder.gep(wa.data, [wo_])

            def splat(s):
                v = builder.insert_element(undef, s, ir.Constant(ir.IntType(32), 0))
                return builder.shuffle_vector(v, undef, zmask)

            def loop(first, stop, acc, body_fn, name):
                """``for i in range(first, stop)`` (at least once) in IR, the
                accumulators carried through phi nodes; ``body_fn(acc, i)``
                returns the new ones."""
                pre = builder.block
                body = builder.append_basic_block(name)
                done = builder.append_basic_block(name + "_done")
                builder.branch(body)
                builder.position_at_end(body)
                i = builder.phi(_I64)
                i.add_incoming(first, pre)
                ph = [[builder.phi(vt) for _ in range(U)] for _ in range(GR)]
                for g in range(GR):
                    for u in range(U):
                        ph[g][u].add_incoming(acc[g][u], pre)
                new = body_fn(ph, i)
                i1 = builder.add(i, _c(1))
                end = builder.block
                i.add_incoming(i1, end)
                for g in range(GR):
                    for u in range(U):
                        ph[g][u].add_incoming(new[g][u], end)
                builder.cbranch(builder.icmp_signed("<", i1, stop), body, done)
                builder.position_at_end(done)
                return new

            def row(acc, rr, gs):
                """Input row ``rr`` into the accumulators of rows ``g`` in
                ``gs`` (weight row ``rr - g``); a loop over the K taps."""
                rowp = builder.gep(xp, [builder.mul(xs_, rr)])
                wrows = [(g, builder.gep(wp, [builder.mul(builder.sub(rr, _c(g)), K_)]))
                         for g in gs]

                def tap(ph, k):
                    new = [list(a) for a in ph]
                    xk = builder.gep(rowp, [k])
                    xv = [builder.load(builder.bitcast(builder.gep(xk, [_c(u * VF)]), vpt),
                                       align=align) for u in range(U)]
                    for g, wr in wrows:
                        c = splat(builder.load(builder.gep(wr, [k])))
                        for u in range(U):
                            new[g][u] = builder.call(fma, [c, xv[u], new[g][u]])
                    return new

                return loop(_c(0), K_, acc, tap, "taps")

            align = int(ft.get_abi_size(context.target_data))
            zero = ir.Constant(vt, [ir.Constant(ft, 0.0)] * VF)
            acc = [[zero] * U for _ in range(GR)]
            for rr in range(GR - 1):                  # first rows: only g <= rr
                acc = row(acc, _c(rr), range(rr + 1))
            # rows GR-1 .. R-1: every block row takes a weight row
            acc = loop(_c(GR - 1), R_, acc, lambda ph, rr: row(ph, rr, range(GR)), "rows")
            for d in range(GR - 1):                   # last rows: only g > d
                acc = row(acc, builder.add(R_, _c(d)), range(d + 1, GR))
            yp = builder.gep(ya.data, [yo_])
            for g in range(GR):
                rowp = builder.gep(yp, [builder.mul(ys_, _c(g))])
                for u in range(U):
                    builder.store(acc[g][u],
                                  builder.bitcast(builder.gep(rowp, [_c(u * VF)]), vpt),
                                  align=align)
            return context.get_dummy_value()

        return sig, codegen

    return blk


_blk1 = _block(1)
_blk2 = _block(2)
_blk3 = _block(3)
_blk4 = _block(4)


@jit(inline=True)
def _run_block(gr, x, xo, xs, w, wo, R, K, y, yo, ys):  # pragma: no cover - jitted
    if gr == 4:
        _blk4(x, xo, xs, w, wo, R, K, y, yo, ys)
    elif gr == 3:
        _blk3(x, xo, xs, w, wo, R, K, y, yo, ys)
    elif gr == 2:
        _blk2(x, xo, xs, w, wo, R, K, y, yo, ys)
    else:
        _blk1(x, xo, xs, w, wo, R, K, y, yo, ys)


@jit(inline=True)
def _buffered(x, rs, N, p, cmode, gr, R, K, wf, wo, W, y, o0, a, n):  # pragma: no cover
    """Output rows ``o0 .. o0+gr-1``, columns ``[a, a+n)``, through a buffer:
    the ``R+gr-1`` input rows starting at flat ``rs[t]`` (-1: a row of zeros)
    are copied with the column boundary rule applied, and the vector blocks
    read the buffer like the interior.  Used for the edge columns (where
    taps leave the input) and for rows near a zero or reflected border."""
    if n <= 0:
        return
    nn = ((n + W - 1) // W) * W
    bw = nn + K - 1
    nr = R + gr - 1
    cm = np.empty(bw, np.int64)
    for q in range(bw):
        cm[q] = src_col(a + q, p, N, cmode)
    xb = np.empty(nr * bw, x.dtype)
    for t in range(nr):
        base = rs[t]
        for q in range(bw):
            c = cm[q]
            xb[t * bw + q] = x[base + c] if c >= 0 and base >= 0 else 0
    yb = np.empty(gr * nn, x.dtype)
    for jb in range(nn // W):
        _run_block(gr, xb, jb * W, bw, wf, wo, R, K, yb, jb * W, nn)
    for g in range(gr):
        for q in range(n):
            y[o0 + g, a + q] = yb[g * nn + q]


@jit(parallel=True)
def simd_rows(x, obase, orow, krow, rmap, xstr, N, p, cmode, w, wdiv, y, tile,
              lanes):  # pragma: no cover - jitted
    """2-D correlation rows (``rmap.shape[0] == 1``), float32/float64; see module doc."""
    nrows, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    wf = w.reshape(-1)
    yf = y.reshape(-1)
    gr = min(G, R)
    W = U * lanes
    lo = min(max(p, 0), L)                     # all taps in range on [lo, hi)
    hi = max(min(L, N + p - K + 1), lo)
    nb = (hi - lo) // W
    cb = max(1, tile // W)                     # blocks per unit
    nch = max(1, (nb + cb - 1) // cb)
    ngr = (nrows + gr - 1) // gr
    xs = xstr[0]
    for u in prange(ngr * nch):
        gi = u // nch
        ch = u - gi * nch
        o0 = gi * gr
        o1 = min(o0 + gr, nrows)
        kb = o0 // wdiv
        t0 = orow[o0, 0]
        c0 = rmap[0, t0]
        b0 = ch * cb
        b1 = min(b0 + cb, nb)
        a = lo + b0 * W if ch > 0 else 0       # this unit's columns [a, e)
        e = lo + b1 * W if ch < nch - 1 else L
        rs = np.empty(R + gr - 1, np.int64)
        # a full group of consecutive output rows of one image and kernel?
        grp = o1 - o0 == gr and (o1 - 1) // wdiv == kb and obase[o1 - 1] == obase[o0]
        if grp:
            for g in range(gr):
                if orow[o0 + g, 0] != t0 + g:
                    grp = False
        if not grp:
            # one output row at a time (rows left over at the end of an image)
            for o in range(o0, o1):
                for r in range(R):
                    rs[r] = row_start(o, r, obase, orow, krow, rmap, xstr)
                _buffered(x, rs, N, p, cmode, 1, R, K, wf, (o // wdiv) * R * K, W, y, o, a,
                          e - a)
            continue
        inner = c0 >= 0                        # its input rows consecutive in x?
        for t in range(R + gr - 1):
            c = rmap[0, t0 + t]
            rs[t] = obase[o0] + c * xs if c >= 0 else -1
            if c != c0 + t:
                inner = False
        if not inner:
            # near a zero or reflected border: the whole span through a buffer
            _buffered(x, rs, N, p, cmode, gr, R, K, wf, kb * R * K, W, y, o0, a, e - a)
            continue
        for jb in range(b0, b1):
            j = lo + jb * W
            _run_block(gr, x, rs[0] - p + j, xs, wf, kb * R * K, R, K, yf, o0 * L + j, L)
        if ch == 0:
            _buffered(x, rs, N, p, cmode, gr, R, K, wf, kb * R * K, W, y, o0, 0, lo)
        if ch == nch - 1:
            _buffered(x, rs, N, p, cmode, gr, R, K, wf, kb * R * K, W, y, o0, lo + nb * W,
                      L - lo - nb * W)
