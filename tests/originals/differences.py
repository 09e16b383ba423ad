"""Which of the originals' tests are fastconv's contract, and where it differs.

SELECT: substrings of test node ids that exercise the functions fastconv
replaces (the rest of each file tests other functions).  DIFFERENCES: node-id
substrings -> why fastconv deliberately differs (marked xfail, strict).
"""
SELECT = [
    # scipy.signal (test_signaltools.py)
    "::TestConvolve::", "::TestConvolve2d::", "::TestFFTConvolve::", "::TestOAConvolve::",
    "::TestAllFreqConvolves::", "::test_convolve_longdtype_input",
    "::TestCorrelateReal::", "::TestCorrelate::", "::test_correlation_lags",
    "::TestCorrelateComplex::", "::TestCorrelate2d::", "::test_choose_conv_method",
    "::TestDeconvolve::", "::TestLinearFilterFloat32::", "::TestLinearFilterFloat64::",
    "::TestLinearFilterComplex64::", "::TestLinearFilterComplex128::",
    "::test_lfilter_bad_object", "::test_lfilter_notimplemented_input",
    # numpy (_core/tests/test_numeric.py)
    "test_numeric.py::TestConvolve::", "test_numeric.py::TestCorrelate::",
    # scipy.ndimage (test_filters.py): the convolve/correlate families
    "test_filters.py::TestNdimageFilters::test_correlate", "test_filters.py::test_correlate",
    "test_filters.py::TestNdimageFilters::test_convolve", "test_filters.py::test_convolve",
    "test_filters.py::TestNdimageFilters::test_correlate1d",
    "test_filters.py::TestNdimageFilters::test_convolve1d",
    # astropy.convolution (test_convolve.py, test_convolve_fft.py)
    "test_convolve.py::", "test_convolve_fft.py::",
    # dask-image (its sdist's test__conv.py, test__gaussian.py; the latter's
    # gaussian_gradient_magnitude / gaussian_laplace cases run dask-image's own)
    "test__conv.py::", "test__gaussian.py::",
]

DIFFERENCES = {
    "test_convolve_fft.py::TestConvolve2D::test_padding":
        "psf_pad=False: astropy then wraps around at its FFT size (and warns); "
        "fastconv always pads, so boundary='fill' is honoured and no warning is given",
}
