"""Probability and statistics by convolution: distributions of sums of
random variables, kernel density estimates, moving averages.

A front end over the engine (DESIGN.md): validation here, the choice of
method in ``planning/stats.py``, the work in ``algorithms/stats.py`` and its
kernels.
"""
from ._kde import KDE, isj_bandwidth, kde
from ._pmf import SumReport, compound, pmf_convolve, pmf_power, poisson_binomial
from ._rolling import ewma, moving_average

__all__ = ["KDE", "SumReport", "compound", "ewma", "isj_bandwidth", "kde", "moving_average",
           "pmf_convolve", "pmf_power", "poisson_binomial"]
