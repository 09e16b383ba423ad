"""Probability, statistics and physics by convolution: five pictures.

1. dice.png: the distribution of the sum of n dice (pmf_power) and its
   approach to the normal, with the exact tail P(all ones) = 6^-n.
2. aggregate_loss.png: an insurer's yearly loss, compound Poisson with a
   heavy-tailed (Pareto) claim size: the pmf, its survival function down to
   1e-12 with the 99% / 99.5% / 99.9% quantiles, and what the plain FFT
   one-liner returns in the tail (negative and noisy below 1e-16).
3. kde_boundary.png: a KDE of bimodal data bounded at 0 (waiting times):
   without a boundary (mass leaks below 0), reflected, renormalised.
4. milk_in_coffee.png: a drop of milk spreading in a cup of unstirred
   coffee (heat equation, insulated walls), four snapshots from one
   transform.
5. wave_packet.png: a Gaussian wave packet spreading (the closed-form width
   over it), and leaving the grid: periodic wrap-around against an
   absorbing layer.

Run: python examples/stats_physics.py --out docs/images
"""
import argparse
import math
import os
import time

import numpy as np
import scipy.stats as st

import fastconv.physics as fp
import fastconv.stats as fs


def dice(plt, out):
    die = np.r_[0.0, np.full(6, 1 / 6)]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for n in (1, 2, 3, 5, 10, 30):
        p = fs.pmf_power(die, n)
        k = np.arange(p.size)
        mu, sd = 3.5 * n, math.sqrt(35 / 12 * n)
        ax[0].plot((k - mu) / sd, p * sd, "o-", ms=2.5, lw=1, label=f"n = {n}")
    z = np.linspace(-4, 4, 400)
    ax[0].plot(z, st.norm.pdf(z), "k--", lw=1.2, label="normal")
    ax[0].set_xlim(-4, 4)
    ax[0].set_xlabel("(sum - 3.5 n) / sd")
    ax[0].set_ylabel("pmf x sd")
    ax[0].set_title("sum of n dice")
    ax[0].legend(fontsize=8)
    n = 100
    p, rep = fs.pmf_power(die, n, full_output=True)
    k = np.arange(p.size)
    ax[1].semilogy(k[n:], p[n:], lw=1.2, label="fastconv.pmf_power (tilted)")
    naive = np.fft.irfft(np.fft.rfft(die, 1024) ** n, 1024)[:p.size]
    ax[1].semilogy(k[n:], np.abs(naive[n:]), lw=0.8, alpha=0.7,
                   label="|plain FFT power| (noise below 1e-16)")
    ax[1].axhline(6.0 ** -n, color="k", ls=":", lw=1)
    ax[1].text(110, 6.0 ** -n * 5, "P(all ones) = 6^-100", fontsize=8)
    ax[1].set_xlabel("sum of 100 dice")
    ax[1].set_title("the whole range, to 1e-78")
    ax[1].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "dice.png"), dpi=110)
    plt.close(fig)
    err = abs(p[n] / 6.0 ** -n - 1)
    print(f"dice: P(100 dice sum to 100) = {p[n]:.6e} (6^-100 = {6.0 ** -n:.6e}, "
          f"relative error {err:.1e}); {rep.passes} passes")


def aggregate_loss(plt, out):
    # claims per year ~ Poisson(20); claim size Pareto(alpha 1.8, scale 5k)
    # in buckets of 1k, truncated at 2^15 buckets (a policy limit of 32.8M)
    bucket, m = 1.0, 1 << 15
    edges = (np.arange(m + 1) - 0.5) * bucket
    cdf = 1 - (1 + np.maximum(edges, 0) / 5.0) ** -1.8
    sev = np.diff(cdf)
    sev[-1] += 1 - cdf[-1]                     # the policy limit carries the tail
    sev /= sev.sum()
    lam, n = 20.0, 1 << 17
    t0 = time.perf_counter()
    g, rep = fs.compound(sev, st.poisson(lam), n=n, full_output=True)
    dt = time.perf_counter() - t0
    N = 2 * n
    naive = np.fft.irfft(np.exp(lam * (np.fft.rfft(sev, N) - 1)), N)[:n]
    sf_ = 1 - np.cumsum(g)
    k = np.arange(n) * bucket
    q = {p: k[np.searchsorted(np.cumsum(g), p)] for p in (0.99, 0.995, 0.999)}
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    ax[0].plot(k[:600], g[:600], lw=1.2)
    ax[0].set_xlabel("yearly loss (thousands)")
    ax[0].set_ylabel("probability per 1k bucket")
    ax[0].set_title("compound Poisson(20), Pareto(1.8) claims")
    ax[1].loglog(k[1:], np.maximum(sf_[1:], 1e-300), lw=1.4, label="P(S > x), fastconv")
    ax[1].loglog(k[1:], np.abs(naive[1:]), lw=0.6, alpha=0.6, label="|FFT one-liner pmf|")
    ax[1].loglog(k[1:], np.maximum(g[1:], 1e-300), lw=1.0, label="pmf, fastconv")
    for p, v in q.items():
        ax[1].axvline(v, color="k", ls=":", lw=0.8)
        ax[1].text(v * 1.05, 1e-2, f"{p:.1%}: {v:,.0f}k", rotation=90, fontsize=7,
                   va="bottom")
    ax[1].set_ylim(1e-22, 2)
    ax[1].set_xlabel("loss x (thousands)")
    ax[1].set_title("tail: quantiles and the one-liner's noise")
    ax[1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "aggregate_loss.png"), dpi=110)
    plt.close(fig)
    neg = int((naive < 0).sum())
    print(f"aggregate loss: 2^17 buckets in {dt * 1e3:.0f} ms; quantiles 99% {q[0.99]:,.0f}k, "
          f"99.5% {q[0.995]:,.0f}k, 99.9% {q[0.999]:,.0f}k; mass beyond the grid "
          f"{rep.truncated:.2e}; the one-liner has {neg} negative entries "
          f"(min {naive.min():.1e}), fastconv none")


def kde_boundary(plt, out):
    rng = np.random.default_rng(7)
    x = np.r_[rng.exponential(1.0, 3000), rng.normal(6.0, 0.8, 2000)]
    x = x[x > 0]
    grid = np.linspace(-1.5, 10, 800)
    # a bandwidth wide enough to show the boundary's effect (ISJ, fitted to
    # the jump at 0, picks a narrow one: printed below)
    h = 0.25
    free = fs.kde(x, bw=h, grid=grid)
    hi = float(x.max())
    refl = fs.kde(x, bw=h, boundary="reflect", bounds=(0, hi), grid=800)
    ren = fs.kde(x, bw=h, boundary="renormalize", bounds=(0, hi), grid=800)
    true = 0.6 * st.expon.pdf(grid) + 0.4 * st.norm.pdf(grid, 6.0, 0.8)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.hist(x, bins=120, density=True, color="0.85", label="data (5000, bounded at 0)")
    ax.plot(grid, true, "k--", lw=1, label="true density")
    ax.plot(grid, free.density, lw=1.2, label=f"no boundary (h = {h})")
    ax.plot(refl.grid[0], refl.density, lw=1.4, label="boundary='reflect'")
    ax.plot(ren.grid[0], ren.density, lw=1.0, ls="-.", label="boundary='renormalize'")
    ax.set_xlim(-1.5, 10)
    ax.set_title("kernel density estimate of bimodal data bounded at 0")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "kde_boundary.png"), dpi=110)
    plt.close(fig)
    g = free.grid[0]
    leak = free.density[g < 0].sum() * (g[1] - g[0])
    print(f"kde: h {h} (ISJ would pick {fs.isj_bandwidth(x):.4f}); mass below 0 without a boundary {leak:.3f}; at 0: "
          f"free {free(np.array([0.0]))[0]:.3f}, reflect {refl.density[0]:.3f}, "
          f"renormalize {ren.density[0]:.3f}, true {true[np.searchsorted(grid, 0)]:.3f}")


def milk(plt, out):
    n = 256
    y, x = np.mgrid[0:n, 0:n] - n / 2
    cup = x ** 2 + y ** 2 < (0.48 * n) ** 2
    milk0 = ((x + 30) ** 2 + (y - 20) ** 2 < 14 ** 2) * 1.0
    times = [0.0, 40.0, 200.0, 1000.0]
    fields = fp.diffuse(milk0, 1.0, times, boundary="reflect")
    fig, axs = plt.subplots(1, 4, figsize=(12, 3.3))
    for ax, f, t in zip(axs, fields, times):
        img = np.where(cup, 0.35 + 0.65 * np.clip(f / f.max() if t else f, 0, 1), 0.0)
        ax.imshow(img, cmap="copper", vmin=0, vmax=1.1)
        ax.set_title(f"t = {t:g}   (peak {f.max():.3f})", fontsize=9)
        ax.axis("off")
    fig.suptitle("milk spreading in unstirred coffee (D = 1 cell^2 per unit time, "
                 "insulated walls)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "milk_in_coffee.png"), dpi=100)
    plt.close(fig)
    r2 = (x ** 2 + y ** 2).astype(float)
    m2 = [(f * r2).sum() / f.sum() for f in fields]
    print(f"milk: mass kept {fields[-1].sum() / milk0.sum():.15f}; second moment about the "
          f"centre grows {m2[1] - m2[0]:.2f} by t=40 (4 D t = 160 in free space)")


def wave(plt, out):
    x = np.arange(2048) - 1024.0
    s0, k0 = 10.0, 0.6
    psi0 = (2 * np.pi * s0 ** 2) ** -0.25 * np.exp(-(x + 500) ** 2 / (4 * s0 ** 2)
                                                   + 1j * k0 * x)
    times = [0.0, 400.0, 800.0, 1200.0]
    per = fp.free_particle(psi0, times)
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    for p, t in zip(per, times):
        prob = np.abs(p) ** 2
        ax[0].plot(x, prob, lw=1.1, label=f"t = {t:g}")
        w = s0 * math.sqrt(1 + (t / (2 * s0 ** 2)) ** 2)
        mu = -500 + k0 * t
        ax[0].plot(x, st.norm.pdf(x, mu, w), "k:", lw=0.8)
    ax[0].set_xlim(-800, 800)
    ax[0].set_title("Gaussian packet spreading (dotted: closed form)")
    ax[0].set_xlabel("x")
    ax[0].legend(fontsize=8)
    later = [3000.0]
    wrap = fp.free_particle(psi0, later)[0]
    absorb = fp.free_particle(psi0, later, absorbing=200)[0]
    ax[1].semilogy(x, np.abs(wrap) ** 2 + 1e-30, lw=1.1, label="periodic (wraps around)")
    ax[1].semilogy(x, np.abs(absorb) ** 2 + 1e-30, lw=1.1, label="absorbing layer, 200 cells")
    ax[1].axvspan(-1024, -824, color="0.9")
    ax[1].axvspan(823, 1023, color="0.9")
    ax[1].set_ylim(1e-14, 1e-1)
    ax[1].set_title("t = 3000: the packet has left the grid on the right")
    ax[1].legend(fontsize=8, loc="lower center")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "wave_packet.png"), dpi=110)
    plt.close(fig)
    print(f"wave packet: width at t=1200 {math.sqrt((np.abs(per[-1]) ** 2 * (x - (-500 + k0 * 1200)) ** 2).sum()):.4f} "
          f"(closed form {s0 * math.sqrt(1 + (1200 / (2 * s0 ** 2)) ** 2):.4f}); norm left at "
          f"t=3000: periodic {(np.abs(wrap) ** 2).sum():.4f}, absorbing "
          f"{(np.abs(absorb) ** 2).sum():.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_out")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    for f in (dice, aggregate_loss, kde_boundary, milk, wave):
        f(plt, args.out)
    print(f"pictures in {args.out}/")


if __name__ == "__main__":
    main()
