"""Probability and statistics by convolution: distributions of sums of
random variables, kernel density estimates, moving averages.

A front end over the engine (DESIGN.md): validation here, the choice of
method in ``planning/stats.py``, the work in ``algorithms/stats.py`` and its
kernels.
"""
from ._pmf import SumReport, compound, pmf_convolve, pmf_power, poisson_binomial

__all__ = ["SumReport", "compound", "pmf_convolve", "pmf_power", "poisson_binomial"]
