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
]

DIFFERENCES = {
}
