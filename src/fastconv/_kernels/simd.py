"""Register-blocked 2-D direct correlation with explicit SIMD (LLVM vector IR).

LLVM's loop vectoriser, which the other kernels rely on, keeps one output
vector per loop iteration: every multiply-add then needs a load of the input
and a load (broadcast) of the weight, so a core can do at most about one
multiply-add per cycle, half of its peak (measured 30-45% here).  This kernel
is written in vector IR directly (``numba.extending.intrinsic``): one call
computes a block of ``G`` output rows by ``U`` vectors held in registers
(256-bit vectors: 4 x 3 = 96 float32 or 48 float64 outputs in 12 registers;
512-bit vectors, on AVX-512 hosts: 4 x 4 = 256 / 128 outputs in 16 of the 32
registers); for every input row and tap it loads ``U`` input vectors and
``G`` broadcast weights for ``G * U`` fused multiply-adds (7 loads per 12
FMAs; 8 per 16), which lets a core run near its FMA throughput.  The width
is a kernel argument (:func:`vector_arg`) whose numba type names it, so both
widths compile, cache and run side by side (the caller picks the host's:
``fastconv.algorithms.direct.vector_bits``).  The loops over input rows
and taps run inside the block (kernel sizes are run-time values: one
compiled kernel serves every shape).

``simd_rows`` has the contract of :func:`fastconv._kernels.direct.corr_rows`
for 2-D problems (one leading axis, batched): groups of ``G`` consecutive
output rows whose input rows are consecutive (the interior, under any
boundary rule) take the vector blocks on the columns whose taps are all in
range; their edge columns and the column remainder, and the rows near a
zero or reflected border, take the same blocks on a small buffer holding
those input rows and columns with the boundary rule applied.

Measured (2048x2048 float32, one thread, 'same'): 5x5 45, 9x9 63-71, 17x17
77-82 GFLOP/s, against 27 / 41 / 52 for the unrolled row kernels
(_kernels/fixed.py) and 40 / 48 / 54 for cv2.filter2D.  With 512-bit vectors on an
AVX-512 host (2048^2 float32, 2 threads, 'same'; float32 GEMM peak about
320 GFLOP/s): 9x9 117 -> 167 GFLOP/s, 17x17 161 -> 250 GFLOP/s.
"""
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils, errors
from numba.extending import intrinsic

from . import jit, row_start
from .direct import col_row, sep_unit, src_col

#: the block rows of the register block
G = 4
#: the vector widths (bits) the blocks are compiled for; a kernel takes the
#: width as an argument whose numba type names it (:func:`vector_arg`)
BITS = (256, 512)
#: vectors per block row for each width: 4 x 3 256-bit accumulators (12 of
#: the 16 AVX2 registers), 4 x 4 512-bit ones (16 of the 32 AVX-512
#: registers).  Measured, 2048^2 float32, 2 threads, AVX-512 host, 9x9 /
#: 17x17: 256-bit x 3 5.8 / 15.1 ms; 512-bit x 3 4.6 / 10.4; x 4 4.1 / 9.7;
#: x 5 4.3 / 10.5
U_BITS = {256: 3, 512: 4}
_VECTOR_ARGS = {}


def vector_arg(bits):
    """The vector width ``bits`` as a kernel argument: an empty array with
    ``1 + BITS.index(bits)`` dimensions (typed by it, like :func:`block_choice`)."""
    v = _VECTOR_ARGS.get(bits)
    if v is None:
        v = _VECTOR_ARGS[bits] = np.zeros((1,) * (1 + BITS.index(bits)), np.int8)
    return v


def block_columns(itemsize, bits):
    """Output columns of one block: ``U_BITS[bits]`` vectors of ``bits``."""
    return U_BITS[bits] * bits // (8 * itemsize)


def _bits(vec):
    if not isinstance(vec, types.Array) or not 1 <= vec.ndim <= len(BITS):
        raise errors.TypingError("the vector width must be a vector_arg() array")
    return BITS[vec.ndim - 1]


@intrinsic
def block_cols(typingctx, vec, w):
    """Output columns of one block for the width ``vec`` and ``w``'s dtype."""
    n = block_columns(w.dtype.bitwidth // 8, _bits(vec))

    def codegen(context, builder, signature, args):
        return context.get_constant(types.int64, n)

    return types.int64(vec, w), codegen

_I64 = ir.IntType(64)


def _c(v):
    return ir.Constant(_I64, v)


class _IR:
    """What both block intrinsics build first: the arrays, the vector type,
    the FMA, the input loads (8/16-bit integers converted as loaded) and
    the weight broadcasts."""

    def __init__(self, context, builder, signature, args, VF, is64, xt):
        self.builder = builder
        x_, xo_, _, w_, wo_, _, _, y_, _, _ = args[:10]
        xa = context.make_array(signature.args[0])(context, builder, x_)
        wa = context.make_array(signature.args[3])(context, builder, w_)
        self.ya = context.make_array(signature.args[7])(context, builder, y_)
        self.ft = ft = context.get_value_type(signature.args[3].dtype)
        self.vt = vt = ir.VectorType(ft, VF)
        self.vpt = vt.as_pointer()
        self.fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vt, [vt, vt, vt]),
            "llvm.fma.v%d%s" % (VF, "f64" if is64 else "f32"))
        self.zmask = ir.Constant(ir.VectorType(ir.IntType(32), VF), [0] * VF)
        self.undef = ir.Constant(vt, ir.Undefined)
        self.xp0 = builder.gep(xa.data, [xo_])
        self.wp0 = builder.gep(wa.data, [wo_])
        self.align = int(ft.get_abi_size(context.target_data))
        self.zero = ir.Constant(vt, [ir.Constant(ft, 0.0)] * VF)
        self.VF, self.xt = VF, xt

    def load_x(self, ptr):
        """VF consecutive inputs as a vector of the sums' dtype."""
        b, xt = self.builder, self.xt
        if isinstance(xt, types.Integer):
            ivt = ir.VectorType(ir.IntType(xt.bitwidth), self.VF)
            raw = b.load(b.bitcast(ptr, ivt.as_pointer()), align=xt.bitwidth // 8)
            return b.sitofp(raw, self.vt) if xt.signed else b.uitofp(raw, self.vt)
        return b.load(b.bitcast(ptr, self.vpt), align=self.align)

    def splat(self, v):
        b = self.builder
        v = b.insert_element(self.undef, v, ir.Constant(ir.IntType(32), 0))
        return b.shuffle_vector(v, self.undef, self.zmask)


def _typed(vec, targs):
    """(signature, float64 sums?, vector bits, lanes, input element type) of
    a block intrinsic typed with ``vec`` and ``targs``."""
    is64 = targs[3].dtype == types.float64
    bits = _bits(vec)
    return types.void(vec, *targs), is64, bits, bits // (64 if is64 else 32), targs[0].dtype


def _prologue(context, builder, signature, args, VF, is64, xt):
    """The signature and arguments without the width, and their :class:`_IR`
    (None: sums stored only into an array of their own dtype; a call typed
    otherwise (an integer image's output, see sep2d_simd) compiles to
    nothing and must not run)."""
    signature = types.void(*signature.args[1:])
    args = args[1:]
    if signature.args[7].dtype != signature.args[3].dtype:
        return signature, args, None
    return signature, args, _IR(context, builder, signature, args, VF, is64, xt)


def _block(GR, rowwise=False, planes=False, taps=None, typer_only=False):
    """Intrinsic ``blk(x, xo, xs, w, wo, R, K, y, yo, ys)``:
    ``y[yo + g*ys + j] = sum_{r<R, k<K} w[wo + r*K + k] * x[xo + (g+r)*xs + k + j]``
    for ``g < GR`` and ``j < U * lanes`` (``vec``, the intrinsic's first
    argument, names the vector width: :func:`vector_arg`); needs ``R >= GR``.  With
    ``rowwise`` every block row reads its own input row with the same weights
    (``R`` is ignored): ``y[yo + g*ys + j] = sum_k w[wo + k] * x[xo + g*xs + k + j]``
    (the row pass of a separable filter).  With ``planes`` the intrinsic is
    ``blk(x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)`` and sums the
    above over ``P >= 1`` planes: plane ``q`` reads ``x`` from ``xo + po[q]``
    with the weights from ``wo + wq[q]`` (a 3-D kernel's planes; the sums stay
    in registers across planes); with ``acc != 0`` the sums start from the
    values in ``y`` (``+=``).  With ``taps`` (an int; ``K`` must equal it)
    the loop over the taps is unrolled.  The sums are in the weights' dtype
    (float32 or float64); ``x`` may be 8/16-bit integers, converted as loaded."""

    def typer(vec, *targs):
        sig, is64, bits, VF, xt = _typed(vec, targs)
        U = U_BITS[bits]

        def codegen(context, builder, signature, args):
            signature, args, h = _prologue(context, builder, signature, args, VF, is64, xt)
            if h is None:
                return context.get_dummy_value()
            x_, xo_, xs_, w_, wo_, R_, K_, y_, yo_, ys_ = args[:10]
            ya, vt, vpt, fma, xp0, wp0, align = h.ya, h.vt, h.vpt, h.fma, h.xp0, h.wp0, h.align
            load_x, splat = h.load_x, h.splat

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

            def row(acc, rr, gs, xp, wp):
                """Input row ``rr`` into the accumulators of rows ``g`` in
                ``gs`` (weight row ``rr - g``); a loop over the K taps."""
                rowp = builder.gep(xp, [builder.mul(xs_, rr)])
                wrows = [(g, builder.gep(wp, [builder.mul(builder.sub(rr, _c(g)), K_)]))
                         for g in gs]

                def tap(ph, k):
                    new = [list(a) for a in ph]
                    xk = builder.gep(rowp, [k])
                    xv = [load_x(builder.gep(xk, [_c(u * VF)])) for u in range(U)]
                    for g, wr in wrows:
                        c = splat(builder.load(builder.gep(wr, [k])))
                        for u in range(U):
                            new[g][u] = builder.call(fma, [c, xv[u], new[g][u]])
                    return new

                if taps is not None:      # a constant tap count: unrolled
                    for k in range(taps):
                        acc = tap(acc, _c(k))
                    return acc
                return loop(_c(0), K_, acc, tap, "taps")

            def yptr(g, u):
                rowp = builder.gep(builder.gep(ya.data, [yo_]), [builder.mul(ys_, _c(g))])
                return builder.bitcast(builder.gep(rowp, [_c(u * VF)]), vpt)

            def store(acc):
                for g in range(GR):
                    for u in range(U):
                        builder.store(acc[g][u], yptr(g, u), align=align)

            zero = h.zero
            acc = [[zero] * U for _ in range(GR)]
            if planes:   # acc != 0: start from y (y must hold numbers either way)
                add = builder.icmp_signed("!=", args[13], ir.Constant(args[13].type, 0))
                acc = [[builder.select(add, builder.load(yptr(g, u), align=align), zero)
                        for u in range(U)] for g in range(GR)]
            if rowwise:
                rows = [builder.gep(xp0, [builder.mul(xs_, _c(g))]) for g in range(GR)]

                def tap_rows(ph, k):
                    new = [list(a) for a in ph]
                    c = splat(builder.load(builder.gep(wp0, [k])))
                    for g in range(GR):
                        xk = builder.gep(rows[g], [k])
                        for u in range(U):
                            new[g][u] = builder.call(
                                fma, [c, load_x(builder.gep(xk, [_c(u * VF)])), new[g][u]])
                    return new

                store(loop(_c(0), K_, acc, tap_rows, "taps"))
                return context.get_dummy_value()
            def plane(acc, xp, wp):
                for rr in range(GR - 1):              # first rows: only g <= rr
                    acc = row(acc, _c(rr), range(rr + 1), xp, wp)
                # rows GR-1 .. R-1: every block row takes a weight row
                acc = loop(_c(GR - 1), R_, acc,
                           lambda ph, rr: row(ph, rr, range(GR), xp, wp), "rows")
                for d in range(GR - 1):               # last rows: only g > d
                    acc = row(acc, builder.add(R_, _c(d)), range(d + 1, GR), xp, wp)
                return acc

            if planes:
                poa = context.make_array(signature.args[10])(context, builder, args[10])
                wqa = context.make_array(signature.args[11])(context, builder, args[11])

                def one_plane(ph, q):
                    po = builder.load(builder.gep(poa.data, [q]))
                    wq = builder.load(builder.gep(wqa.data, [q]))
                    return plane(ph, builder.gep(xp0, [po]), builder.gep(wp0, [wq]))

                acc = loop(_c(0), args[12], acc, one_plane, "planes")
            else:
                acc = plane(acc, xp0, wp0)
            store(acc)
            return context.get_dummy_value()

        return sig, codegen

    if typer_only:
        return typer
    if planes:
        @intrinsic
        def blk_planes(typingctx, vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc):
            return typer(vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)

        return blk_planes

    @intrinsic
    def blk(typingctx, vec, x, xo, xs, w, wo, R, K, y, yo, ys):
        return typer(vec, x, xo, xs, w, wo, R, K, y, yo, ys)

    return blk


#: the 1-D block (:func:`_block1d`): output vectors per block for each width
#: (16 of the 32 AVX-512 registers, 8 of the 16 AVX2 ones), taps per step
U1D = {256: 8, 512: 16}
Q1D = 4


def _block1d(typer_only=False):
    """Intrinsic ``blk(vec, x, xo, xs, w, wo, R, K, y, yo, ys)`` for one
    kernel row (``xs``, ``R``, ``ys`` unused): ``y[yo + j] = sum_{k<K}
    w[wo + k] * x[xo + k + j]`` for ``j < U1D * lanes``.

    The 2-D blocks reuse an input vector across the block's rows; one row
    has none, so :func:`_block` with one row loads an input vector for every
    multiply-add (and a 512-bit load at an element offset splits a cache line
    7 times in 8).  Here the taps are taken by residue ``r = k mod lanes``:
    tap ``r + lanes q`` of output vector ``u`` reads the input vector at
    ``r + lanes (q + u)``, so each vector loaded serves every (``u``,
    ``q``) with the same ``q + u``: per residue and ``Q1D`` taps,
    ``U + Q1D - 1`` loads and ``Q1D`` weight broadcasts feed ``U * Q1D``
    multiply-adds (16 x 4 = 64 for 19 + 4 loads; the tap remainder one at a
    time).  Sums in the weights' dtype; ``x`` float32/float64 or 8/16-bit
    integers converted as loaded."""

    def typer(vec, *targs):
        sig, is64, bits, VF, xt = _typed(vec, targs)
        U = U1D[bits]

        def codegen(context, builder, signature, args):
            signature, args, h = _prologue(context, builder, signature, args, VF, is64, xt)
            if h is None:
                return context.get_dummy_value()
            K_, yo_ = args[6], args[8]
            ya, vt, vpt, fma, xp0, wp0, align = h.ya, h.vt, h.vpt, h.fma, h.xp0, h.wp0, h.align
            load_x, splat = h.load_x, h.splat

            def gloop(first, stop, acc, body_fn, name):
                """``for i in range(first, stop)`` (maybe no iteration), the
                accumulators carried through phi nodes."""
                pre = builder.block
                body = builder.append_basic_block(name)
                done = builder.append_basic_block(name + "_done")
                builder.cbranch(builder.icmp_signed("<", first, stop), body, done)
                builder.position_at_end(body)
                i = builder.phi(_I64)
                i.add_incoming(first, pre)
                ph = [builder.phi(vt) for _ in range(U)]
                for u in range(U):
                    ph[u].add_incoming(acc[u], pre)
                new = body_fn(ph, i)
                i1 = builder.add(i, _c(1))
                end = builder.block
                i.add_incoming(i1, end)
                for u in range(U):
                    ph[u].add_incoming(new[u], end)
                builder.cbranch(builder.icmp_signed("<", i1, stop), body, done)
                builder.position_at_end(done)
                out = []
                for u in range(U):
                    r = builder.phi(vt)
                    r.add_incoming(acc[u], pre)
                    r.add_incoming(new[u], end)
                    out.append(r)
                return out

            def step(acc, r, q0, nq):
                """Taps ``r + VF (q0 + q)``, ``q < nq``, into every output vector."""
                acc = list(acc)
                base = builder.add(r, builder.mul(q0, _c(VF)))
                wv = [splat(builder.load(builder.gep(wp0, [builder.add(base, _c(VF * q))])))
                      for q in range(nq)]
                xb = builder.gep(xp0, [base])
                for m in range(U + nq - 1):
                    v = load_x(builder.gep(xb, [_c(VF * m)]))
                    for q in range(max(0, m - U + 1), min(nq, m + 1)):
                        acc[m - q] = builder.call(fma, [wv[q], v, acc[m - q]])
                return acc

            def residue(acc, r):
                # taps of this residue: ceil((K - r) / VF), in steps of Q1D
                nq = builder.sdiv(builder.add(builder.sub(K_, r), _c(VF - 1)), _c(VF))
                nblk = builder.sdiv(nq, _c(Q1D))
                acc = gloop(_c(0), nblk, acc,
                            lambda ph, b: step(ph, r, builder.mul(b, _c(Q1D)), Q1D), "q4")
                return gloop(builder.mul(nblk, _c(Q1D)), nq, acc,
                             lambda ph, q: step(ph, r, q, 1), "q1")

            zero = h.zero
            nres = builder.select(builder.icmp_signed("<", K_, _c(VF)), K_, _c(VF))
            acc = gloop(_c(0), nres, [zero] * U, residue, "res")
            yp = builder.gep(ya.data, [yo_])
            for u in range(U):
                builder.store(acc[u], builder.bitcast(builder.gep(yp, [_c(u * VF)]), vpt),
                              align=align)
            return context.get_dummy_value()

        return sig, codegen

    if typer_only:
        return typer

    @intrinsic
    def blk(typingctx, vec, x, xo, xs, w, wo, R, K, y, yo, ys):
        return typer(vec, x, xo, xs, w, wo, R, K, y, yo, ys)

    return blk


_row1d = _block1d()
_blk1 = _block(1)
_blk2 = _block(2)
_blk3 = _block(3)
_blk4 = _block(4)
_pl1 = _block(1, planes=True)
_pl2 = _block(2, planes=True)
_pl3 = _block(3, planes=True)
_pl4 = _block(4, planes=True)
_rows4 = _block(4, rowwise=True)
_rows1 = _block(1, rowwise=True)


# Interior blocks of ``simd_rows`` with the tap loop unrolled (no loop branch
# or counter per tap) for kernels 3, 5, 7 and 9 wide, at the block height
# those kernels use (4 rows; 3 for 3x3).  Measured, 2048^2 float32,
# same-process A/B against the tap loop: 3x3 +20-25%, 5x5 +15-25%, 7x7
# +15-20%, 9x9 +3-8% (1 and 2 threads); wider kernels amortise the loop.
# Each variant adds compile time (about 1 s), hence only these, and a kernel
# compiles only the variant its problem uses (``block_choice``).


#: (taps, block rows) pairs with an unrolled block
UNROLLED = {(3, 3), (3, 4), (5, 4), (7, 4), (9, 4)}


#: the block choices a kernel compiles one of: (unrolled taps or 0, block rows)
#: ``(-1, 1)``: one kernel row, whose interior takes the 1-D block
#: (:func:`_block1d`)
CHOICES = [(0, 1), (0, 2), (0, 3), (0, 4)] + sorted(UNROLLED) + [(-1, 1)]
_SELECTORS = {}


def _selector(taps, gr):
    """The choice (``taps``, ``gr``) as an argument numba types by it: an
    empty array with ``1 + CHOICES.index(...)`` dimensions.  The dispatcher
    finds the compiled kernel for it like any argument type (a literal int
    would be re-typed on every call), and a parallel loop can take an array
    in (not a tuple)."""
    sel = _SELECTORS.get((taps, gr))
    if sel is None:
        sel = _SELECTORS[(taps, gr)] = np.zeros((1,) * (1 + CHOICES.index((taps, gr))), np.int8)
    return sel


def block_choice(R, K, lanes=0):
    """``simd_rows``' last argument: the blocks a problem with an ``R x K``
    kernel uses (``gr`` rows, the taps unrolled where ``(K, gr)`` is in
    :data:`UNROLLED`; one row of at least 4 vectors' worth of taps, ``lanes``
    per vector: the 1-D block): one compiled kernel per choice, not all
    blocks in one.  (Shorter rows ran slower on the 1-D block: 1e7 x 16
    float32 8.2 -> 13.4 ms; 1e7 x 100 17.4 -> 12.1.)"""
    gr = min(G, R)
    if R == 1 and lanes and K >= 4 * lanes:
        return _selector(-1, 1)
    return _selector(K if (K, gr) in UNROLLED else 0, gr)


def row_choice(K1, itemsize, bits):
    """``sep2d_simd``'s ``rsel``: the 1-D block over the row pass' wide
    blocks for rows of 4 vectors' worth of taps or more (as
    :func:`block_choice`), else none (and no 1-D code in that variant)."""
    return _selector(-1, 1) if K1 >= 4 * bits // (8 * itemsize) else _selector(0, 1)


def _typed_row1d(rsel):
    if not isinstance(rsel, types.Array):
        raise errors.TypingError("the row choice must be a row_choice() array")
    return CHOICES[rsel.ndim - 1][0] == -1


@intrinsic
def row1d_cols(typingctx, rsel, vec, w, L1):
    """The 1-D block's columns when ``rsel`` chooses it, else ``L1 + 1`` (no
    wide block fits a row)."""
    on = _typed_row1d(rsel)
    n = U1D[_bits(vec)] * (_bits(vec) // w.dtype.bitwidth)

    def codegen(context, builder, signature, args):
        if on:
            return context.get_constant(types.int64, n)
        return builder.add(args[3], context.get_constant(types.int64, 1))

    return types.int64(rsel, vec, w, types.int64), codegen


@intrinsic
def _row1d_sel(typingctx, rsel, vec, x, xo, xs, w, wo, R, K, y, yo, ys):
    """The 1-D block where ``rsel`` chooses it; nothing otherwise (never
    called then: :func:`row1d_cols` leaves no wide block)."""
    on = _typed_row1d(rsel)
    sig, inner = _block1d(typer_only=True)(vec, x, xo, xs, w, wo, R, K, y, yo, ys)

    def codegen(context, builder, signature, args):
        if not on:
            return context.get_dummy_value()
        return inner(context, builder, types.void(*signature.args[1:]), args[1:])

    return types.void(rsel, *sig.args), codegen


def column_choice(K0):
    """``sep2d_simd``'s last argument: blocks of 4 rows for a column kernel
    of 4 or more taps, else 2 or 1 (a block needs ``K0 >=`` its rows; two
    2-row blocks load as many input rows per multiply-add as a 3-row and a
    1-row block, and compile one block instead of two)."""
    return _selector(0, 4 if K0 >= 4 else 2 if K0 >= 2 else 1)


def _chosen(sel, interior):
    if not isinstance(sel, types.Array):
        raise errors.TypingError("the block choice must be a block_choice() array")
    taps, gr = CHOICES[sel.ndim - 1]
    if taps == -1:
        return _block1d(typer_only=True) if interior else _block(1, typer_only=True)
    return _block(gr, taps=(taps or None) if interior else None, typer_only=True)


@intrinsic
def interior_cols(typingctx, sel, vec, w):
    """Output columns of one interior block of the choice ``sel``: the 1-D
    block's ``U1D`` vectors, or the 2-D blocks' ``U_BITS``."""
    bits = _bits(vec)
    taps, _ = CHOICES[sel.ndim - 1]
    lanes = bits // w.dtype.bitwidth
    n = (U1D[bits] if taps == -1 else U_BITS[bits]) * lanes

    def codegen(context, builder, signature, args):
        return context.get_constant(types.int64, n)

    return types.int64(sel, vec, w), codegen


def _sel_intrinsic(interior):
    """Intrinsic ``blk(sel, x, xo, xs, w, wo, R, K, y, yo, ys)``: the block
    :func:`block_choice` ``sel`` names (``interior``: its unrolled form), so
    that a kernel compiles the one or two blocks a problem needs, not all."""
    @intrinsic
    def blk(typingctx, sel, vec, x, xo, xs, w, wo, R, K, y, yo, ys):
        sig, inner = _chosen(sel, interior)(vec, x, xo, xs, w, wo, R, K, y, yo, ys)

        def codegen(context, builder, signature, args):
            return inner(context, builder, types.void(*signature.args[1:]), args[1:])

        return types.void(sel, *sig.args), codegen

    return blk


_blk_interior = _sel_intrinsic(True)
_blk_group = _sel_intrinsic(False)


@jit(inline=True)
def _run_planes(gr, vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P,
                acc):  # pragma: no cover - jitted
    if gr == 4:
        _pl4(vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)
    elif gr == 3:
        _pl3(vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)
    elif gr == 2:
        _pl2(vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)
    else:
        _pl1(vec, x, xo, xs, w, wo, R, K, y, yo, ys, po, wq, P, acc)


@jit(inline=True)
def _edge_buffer(x, rs, nr, N, p, cmode, a, bw):  # pragma: no cover - jitted
    """The ``nr`` input rows starting at flat ``rs[t]`` (-1: a row of zeros),
    columns ``a - p .. a - p + bw - 1`` with the column boundary rule applied."""
    cm = np.empty(bw, np.int64)
    for q in range(bw):
        cm[q] = src_col(a + q, p, N, cmode)
    xb = np.empty(nr * bw, x.dtype)
    for t in range(nr):
        base = rs[t]
        for q in range(bw):
            c = cm[q]
            xb[t * bw + q] = x[base + c] if c >= 0 and base >= 0 else 0
    return xb


@jit(inline=True)
def _buffered(sel, vec, x, rs, N, p, cmode, gr, R, K, wf, wo, W, y, o0, a, n):  # pragma: no cover
    """Output rows ``o0 .. o0+gr-1``, columns ``[a, a+n)``, through a buffer:
    the ``R+gr-1`` input rows starting at flat ``rs[t]`` (-1: a row of zeros)
    are copied with the column boundary rule applied, and the vector blocks
    read the buffer like the interior.  Used for the edge columns (where
    taps leave the input) and for rows near a zero or reflected border."""
    if n <= 0:
        return
    nn = ((n + W - 1) // W) * W
    bw = nn + K - 1
    xb = _edge_buffer(x, rs, R + gr - 1, N, p, cmode, a, bw)
    yb = np.empty(gr * nn, x.dtype)
    for jb in range(nn // W):
        if gr == 1:
            _blk1(vec, xb, jb * W, bw, wf, wo, R, K, yb, jb * W, nn)
        else:
            _blk_group(sel, vec, xb, jb * W, bw, wf, wo, R, K, yb, jb * W, nn)
    for g in range(gr):
        for q in range(n):
            y[o0 + g, a + q] = yb[g * nn + q]


@jit(inline=True)
def _buffered_planes(vec, x, rs, P, N, p, cmode, gr, R, K, wf, wq, W, y, o0, a,
                     n):  # pragma: no cover - jitted
    """:func:`_buffered` over ``P`` kernel planes of ``R`` rows: ``rs``
    holds ``R + gr - 1`` row starts per plane, ``wq`` the planes' weights."""
    if n <= 0:
        return
    nn = ((n + W - 1) // W) * W
    bw = nn + K - 1
    nr = R + gr - 1
    xb = _edge_buffer(x, rs, P * nr, N, p, cmode, a, bw)
    pob = np.arange(P) * (nr * bw)
    yb = np.empty(gr * nn, x.dtype)
    for jb in range(nn // W):
        _run_planes(gr, vec, xb, jb * W, bw, wf, 0, R, K, yb, jb * W, nn, pob, wq, P, 0)
    for g in range(gr):
        for q in range(n):
            y[o0 + g, a + q] = yb[g * nn + q]


@jit(parallel=True)
def simd_rows(x, obase, orow, krow, rmap, xstr, N, p, cmode, w, wdiv, y, tile,
              vec, sel):  # pragma: no cover - jitted
    """2-D correlation rows (``rmap.shape[0] == 1``), float32/float64; see
    module doc.  ``sel``: :func:`block_choice` of the kernel's shape."""
    nrows, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    wf = w.reshape(-1)
    yf = y.reshape(-1)
    gr = min(G, R)
    W = block_cols(vec, wf)                    # the buffered spans' blocks
    Wi = interior_cols(sel, vec, wf)           # the interior's (wider for one row)
    lo = min(max(p, 0), L)                     # all taps in range on [lo, hi)
    hi = max(min(L, N + p - K + 1), lo)
    nb = (hi - lo) // Wi
    cb = max(1, tile // Wi)                    # blocks per unit
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
        a = lo + b0 * Wi if ch > 0 else 0      # this unit's columns [a, e)
        e = lo + b1 * Wi if ch < nch - 1 else L
        rs = np.empty(R + gr - 1, np.int64)
        # a full group of consecutive output rows of one image and kernel?
        grp = o1 - o0 == gr and (o1 - 1) // wdiv == kb and obase[o1 - 1] == obase[o0]
        if grp:
            for g in range(gr):
                if orow[o0 + g, 0] != t0 + g:
                    grp = False
        inner = False                          # its input rows consecutive in x?
        if grp:
            inner = c0 >= 0
            for t in range(R + gr - 1):
                c = rmap[0, t0 + t]
                rs[t] = obase[o0] + c * xs if c >= 0 else -1
                if c != c0 + t:
                    inner = False
        if inner:
            # in bounds (the intrinsic's pointers are not bounds-checked): a
            # block at output column j < hi - W + 1 reads input columns j - p
            # .. j - p + W + K - 2 <= N - 1 of rows c0 .. c0 + R + gr - 2, all
            # checked above to be rows of this image; it writes gr rows of W
            # columns below L
            for jb in range(b0, b1):
                j = lo + jb * Wi
                _blk_interior(sel, vec, x, rs[0] - p + j, xs, wf, kb * R * K, R, K, yf,
                              o0 * L + j, L)
            if ch == nch - 1 and nb > 0 and lo + nb * Wi < hi:
                # the interior's remainder: a block shifted left over columns
                # already written (the same sums, bit for bit), not the buffer
                _blk_interior(sel, vec, x, rs[0] - p + hi - Wi, xs, wf, kb * R * K, R, K, yf,
                              o0 * L + hi - Wi, L)
        # the spans through a buffer, from one call site (every inlined copy
        # of _buffered compiles its blocks again: four sites made the first
        # call 50% longer): rows left over at the end of an image one at a
        # time; a group near a zero or reflected border whole; else the edge
        # columns of the first and last unit of the group
        if not grp:
            nsp = o1 - o0
        elif not inner:
            nsp = 1
        else:
            nsp = (1 if ch == 0 else 0) + (1 if ch == nch - 1 else 0)
        for sp in range(nsp):
            # span: block rows, first output row, first column, columns
            sg, so, sa, sn = gr, o0, a, e - a
            if not grp:
                sg = 1
                so = o0 + sp
                for r in range(R):
                    rs[r] = row_start(so, r, obase, orow, krow, rmap, xstr)
            elif inner:
                if ch == 0 and sp == 0:
                    sa, sn = 0, lo
                elif nb > 0:
                    sa, sn = hi, L - hi
                else:
                    sa, sn = lo, L - lo
            _buffered(sel, vec, x, rs, N, p, cmode, sg, R, K, wf, (so // wdiv) * R * K, W, y, so, sa, sn)


@jit(parallel=True)
def pad_rows_cols(x, rmap, cmap):  # pragma: no cover - jitted
    """``x`` (planes, rows, columns) gathered through the row map ``rmap``
    and the column map ``cmap`` (-1: zero): one copy, all threads."""
    lead = x.shape[0]
    nr = rmap.shape[0]
    nc = cmap.shape[0]
    out = np.empty((lead, nr, nc), x.dtype)
    for u in prange(lead * nr):
        b = u // nr
        t = u - b * nr
        r = rmap[t]
        for c in range(nc):
            q = cmap[c]
            out[b, t, c] = x[b, r, q] if q >= 0 and r >= 0 else 0
    return out


@jit
def col_map(n, p, N, cmode):  # pragma: no cover - jitted
    """Input column of each of ``n`` padded columns (left pad ``p``), -1: zero."""
    out = np.empty(n, np.int64)
    for t in range(n):
        out[t] = src_col(t, p, N, cmode)
    return out


#: output-row groups a unit of simd_planes walks down one column strip
GROUPS_PER_UNIT = 16


@jit(parallel=True)
def simd_planes(x, obase, orow, krow, rmap, xstr, N, w, wdiv, y, vec,
                outer):  # pragma: no cover - jitted
    """N-D correlation rows (``D = rmap.shape[0] >= 2`` leading axes), the
    input padded on its last two axes (every tap of every output row and
    column in range: the last leading map is the identity, no column pad):
    a group of up to ``G`` consecutive output rows of one plane sums the 2-D
    blocks of every kernel plane whose input plane is not zero padding (the
    leading axes but the last keep virtual maps), in registers.  A work
    unit walks down ``GROUPS_PER_UNIT`` groups of one plane.  The column
    remainder is a block shifted left over columns the same unit wrote
    (same values); rows shorter than a block go through a buffer.
    (Column strips narrower than the row were measured: no gain.)"""
    nrows, L = y.shape
    D = rmap.shape[0]
    dl = D - 1
    R = w.shape[1]
    K = w.shape[2]
    Kh = krow[R - 1, dl] + 1                   # kernel rows per plane
    P = R // Kh
    Ly = orow[:, dl].max() + 1                 # output rows per plane
    wf = w.reshape(-1)
    yf = y.reshape(-1)
    gr = min(G, Kh)
    W = block_cols(vec, wf)
    gpp = (Ly + gr - 1) // gr                  # groups per plane
    ngc = (gpp + GROUPS_PER_UNIT - 1) // GROUPS_PER_UNIT
    xs = xstr[dl]
    for u in prange((nrows // Ly) * ngc):
        pl = u // ngc
        gc = u - pl * ngc
        ob = pl * Ly                            # the plane's first output row
        kb = ob // wdiv
        po = np.empty(P, np.int64)
        wq = np.empty(P, np.int64)
        npl = 0
        for q in range(P):
            off = obase[ob]
            for d in range(dl):
                c = rmap[d, orow[ob, d] + krow[q * Kh, d]]
                if c < 0:
                    off = -1
                    break
                off += c * xstr[d]
            if off >= 0:
                po[npl] = off
                wq[npl] = (kb * P + q) * Kh * K
                npl += 1
        _plane_groups(x, po, wq, npl, ob, gc * GROUPS_PER_UNIT,
                      min(gpp, (gc + 1) * GROUPS_PER_UNIT), Ly, gr, Kh, K, W, xs, N, wf, y,
                      yf, vec, outer)


@jit(inline=True)
def _plane_groups(x, po, wq, npl, ob, gi0, gi1, Ly, gr, Kh, K, W, xs, N, wf, y, yf, vec,
                  outer):  # pragma: no cover - jitted
    """Output row groups ``gi0 .. gi1 - 1`` of the plane whose first output
    row is ``ob`` (``y`` as rows x columns, ``yf`` flat): the input planes at
    ``x[po[i]:]`` (padded rows of ``xs`` columns, ``N`` of them), weights at
    ``wq[i]``, ``npl`` of them (none: zeros).  ``outer``: the planes one at
    a time over the whole row (sums kept in ``y``), else all planes per
    block in registers."""
    L = y.shape[1]
    nb = L // W
    for gi in range(gi0, gi1):
        o0 = ob + gi * gr
        g = min(gr, ob + Ly - o0)
        if npl == 0:
            for r in range(o0, o0 + g):
                for c in range(L):
                    y[r, c] = 0
            continue
        x0 = gi * gr * xs                      # the group's first input row (identity map)
        if nb == 0:
            nr = Kh + g - 1
            rs = np.empty(npl * nr, np.int64)
            for i in range(npl):
                for t in range(nr):
                    rs[i * nr + t] = po[i] + x0 + t * xs
            _buffered_planes(vec, x, rs, npl, N, 0, 0, g, Kh, K, wf, wq, W, y, o0, 0, L)
            continue
        # in bounds: rows x0 .. x0 + (Kh + g - 2) * xs of each plane exist
        # (the padded layout), columns j .. j + W + K - 2 < N for j <= L - W
        if outer:
            # wide rows: one kernel plane at a time over the whole row (Kh + g - 1
            # input rows in flight, as in 2-D), the sums kept in y between planes
            for i in range(npl):
                for jb in range(nb):
                    _run_planes(g, vec, x, x0 + jb * W, xs, wf, 0, Kh, K, yf, o0 * L + jb * W, L,
                                po[i:i + 1], wq[i:i + 1], 1, i)
        else:
            for jb in range(nb):
                _run_planes(g, vec, x, x0 + jb * W, xs, wf, 0, Kh, K, yf, o0 * L + jb * W, L, po,
                            wq, npl, 0)
        if nb * W < L:   # (complete sums: also right after the plane-by-plane pass)
            _run_planes(g, vec, x, x0 + L - W, xs, wf, 0, Kh, K, yf, o0 * L + L - W, L, po, wq,
                        npl, 0)


@jit(inline=True)
def _pad_plane(x, base, Nx, ymap, cmap, buf, off):  # pragma: no cover - jitted
    """Input plane at flat ``base`` (rows of ``Nx``) into ``buf[off:]``
    through the row and column maps (-1: zero)."""
    nc = cmap.shape[0]
    for t in range(ymap.shape[0]):
        r = ymap[t]
        o = off + t * nc
        if r < 0:
            for c in range(nc):
                buf[o + c] = 0
            continue
        s = base + r * Nx
        for c in range(nc):
            q = cmap[c]
            buf[o + c] = x[s + q] if q >= 0 else 0


@jit(parallel=True)
def simd_volume(x, bx, Nz, Ny, Nx, zmap, ymap, cmap, w, Kh, y, vec, slab,
                outer):  # pragma: no cover - jitted
    """3-D correlation (``x`` flat, ``bx`` volumes of ``Nz x Ny x Nx``; ``y``
    ``B x Lz x Ly x L``) on the plane-summing blocks without a padded copy
    of the input: a unit of work is ``slab`` consecutive output planes of
    one volume; it pads (row map ``ymap``, column map ``cmap``) each input
    plane it needs into a buffer of ``Kd`` padded planes once, and keeps it
    while the next output planes still need it (slots taken by planes the
    current output plane does not need).  Planes that ``zmap`` maps to -1
    are zero padding and skipped."""
    B, Lz, Ly, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    P = R // Kh
    nr = ymap.shape[0]
    nc = cmap.shape[0]
    psz = nr * nc
    wf = w.reshape(-1)
    yf = y.reshape(-1)
    y2 = y.reshape(-1, L)
    gr = min(G, Kh)
    W = block_cols(vec, wf)
    gpp = (Ly + gr - 1) // gr
    nsl = (Lz + slab - 1) // slab
    for u in prange(B * nsl):
        b = u // nsl
        z0 = (u - b * nsl) * slab
        xb = b if bx > 1 else 0
        kb = b if w.shape[0] > 1 else 0
        buf = np.empty(P * psz, x.dtype)
        tags = np.full(P, -1, np.int64)
        need = np.empty(P, np.int64)
        po = np.empty(P, np.int64)
        wq = np.empty(P, np.int64)
        for z in range(z0, min(z0 + slab, Lz)):
            npl = 0
            for q in range(P):
                c = zmap[z + q]
                if c >= 0:
                    need[npl] = c
                    wq[npl] = (kb * P + q) * Kh * K
                    npl += 1
            for i in range(npl):
                c = need[i]
                slot = -1
                for t in range(P):
                    if tags[t] == c:
                        slot = t
                        break
                if slot < 0:
                    # a slot whose plane this output plane does not need (at
                    # most P - 1 of the P slots hold needed planes)
                    for t in range(P):
                        free = True
                        for j in range(npl):
                            if tags[t] == need[j]:
                                free = False
                                break
                        if free:
                            slot = t
                            break
                    tags[slot] = c
                    _pad_plane(x, (xb * Nz + c) * Ny * Nx, Nx, ymap, cmap, buf, slot * psz)
                po[i] = slot * psz
            _plane_groups(buf, po, wq, npl, (b * Lz + z) * Ly, 0, gpp, Ly, gr, Kh, K, W, nc,
                          nc, wf, y2, yf, vec, outer)


@jit
def _col_sums(zb, Wz, x, b, r0, wcol, cmap, q0, qs, qe, zero):  # pragma: no cover - jitted
    """Column sums of G rows from input row r0 for padded columns [qs, qe)."""
    for g in range(G):
        for q in range(qs, qe):
            c = cmap[q]
            acc = zero
            if c >= 0:
                for j in range(wcol.shape[0]):
                    acc += wcol[j] * x[b, r0 + g + j, c]
            zb[g * Wz + q - q0] = acc


@jit(parallel=True)
def sep2d_simd(x, rmap, cmap, c_lo, c_hi, wcol, wrow, y, rchunk, cstrip, rnd, ylo, yhi,
               vec, sel, rsel):  # pragma: no cover - jitted
    """Rank-1 2-D correlation, the contract of :func:`.direct.sep2d` (virtual
    boundaries through ``rmap``/``cmap``; ``rnd != 0``: integer output rounded
    half to even and saturated) on the vector blocks: for each group of 4
    output rows of a column strip, the column pass is a block with a
    ``K0 x 1`` kernel over the interior columns (4 rows x 3 vectors per
    block, every input vector used for 4 rows) into a buffer that stays in
    L1/L2, and the row pass a row-wise block over the buffer (one weight
    broadcast per 12 multiply-adds), stored straight into ``y`` for float
    output (through a small buffer for the last partial block, and for
    integer output, which is rounded and saturated).  Rows near a border (their input rows
    not consecutive) and the edge columns take scalar column sums.  ``x``
    may be 8/16-bit integers (converted as loaded), sums in the weights' dtype.
    ``sel``: :func:`column_choice`, the column pass' block height;
    ``rsel``: :func:`row_choice`, whether the row pass' wide blocks are the
    1-D block (compiled in only then)."""
    B, L0, L1 = y.shape
    N0 = x.shape[1]
    N1 = x.shape[2]
    K0 = wcol.shape[0]
    K1 = wrow.shape[0]
    Wv = block_cols(vec, wcol)
    W1 = row1d_cols(rsel, vec, wcol, L1)           # the 1-D blocks' columns
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    nr = (L0 + rchunk - 1) // rchunk
    nc = (L1 + cstrip - 1) // cstrip
    off = c_lo - cmap[c_lo] if c_hi > c_lo else 0
    for u in prange(B * nr * nc):
        b, rc, q0, q1 = sep_unit(u, nr, nc, cstrip, L1)
        n = q1 - q0
        nn = ((n + Wv - 1) // Wv) * Wv         # row-pass block columns
        W = n + K1 - 1                          # padded columns q0 .. q0 + W - 1 needed
        Wz = nn + K1 - 1
        zb = np.zeros(G * Wz, dtype=wcol.dtype)
        tb = np.empty(G * nn, dtype=wcol.dtype)
        rows = np.empty(K0, dtype=np.int64)
        wts = np.empty(K0, dtype=wcol.dtype)
        zero = np.zeros(1, dtype=wcol.dtype)[0]
        qa = min(max(c_lo, q0), q0 + W)
        qb = max(min(c_hi, q0 + W), qa)
        nbz = (qb - qa) // Wv
        i_end = min(rc * rchunk + rchunk, L0)
        for g0 in range(rc * rchunk, i_end, G):
            gr = min(G, i_end - g0)
            r0 = rmap[g0]
            regular = gr == G and r0 >= 0
            if regular:
                for t in range(K0 + G - 1):
                    if rmap[g0 + t] != r0 + t:
                        regular = False
            if regular:
                base = (b * N0 + r0) * N1
                gc = sel.ndim                   # column_choice: ndim = block rows
                for jb in range(nbz):
                    q = qa + jb * Wv
                    for gs in range(0, G, gc):
                        _blk_group(sel, vec, xf, base + gs * N1 + q - off, N1, wcol, 0, K0, 1, zb,
                                   gs * Wz + q - q0, Wz)
                # the columns the blocks left: edges and the interior remainder
                _col_sums(zb, Wz, x, b, r0, wcol, cmap, q0, q0, qa, zero)
                _col_sums(zb, Wz, x, b, r0, wcol, cmap, q0, qa + nbz * Wv, q0 + W, zero)
            else:
                for g in range(gr):
                    col_row(zb[g * Wz:g * Wz + W], x, b, g0 + g, rmap, wcol, cmap, rows, wts, qa,
                            qb, off, q0, W)
            c0 = 0          # columns [q0, q0 + c0) already stored in y
            if gr == G:
                if rnd == 0:
                    # float output: the whole blocks straight into y, the
                    # 1-D block (input vectors reused across taps) over each
                    # row's wide blocks, then row-wise blocks
                    n1 = (n // W1) * W1
                    for g in range(G):
                        for jb in range(n // W1):
                            _row1d_sel(rsel, vec, zb, g * Wz + jb * W1, Wz, wrow, 0, 1, K1,
                                       yf, (b * L0 + g0 + g) * L1 + q0 + jb * W1, L1)
                    c0 = (n // Wv) * Wv
                    for jb in range(n1 // Wv, n // Wv):
                        _rows4(vec, zb, jb * Wv, Wz, wrow, 0, 1, K1, yf, (b * L0 + g0) * L1 + q0 +
                               jb * Wv, L1)
                for jb in range(c0 // Wv, nn // Wv):
                    _rows4(vec, zb, jb * Wv, Wz, wrow, 0, 1, K1, tb, jb * Wv, nn)
            else:
                for g in range(gr):
                    for jb in range(nn // Wv):
                        _rows1(vec, zb, g * Wz + jb * Wv, Wz, wrow, 0, 1, K1, tb, g * nn + jb * Wv,
                               nn)
            for g in range(gr):
                yr = y[b, g0 + g, q0:q1]
                t = tb[g * nn:g * nn + n]
                if rnd != 0:
                    for q in range(n):
                        v = min(max(t[q], ylo), yhi)
                        yr[q] = (v + rnd) - rnd     # round half to even (see sep2d)
                else:
                    for q in range(c0, n):
                        yr[q] = t[q]
