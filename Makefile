# fastconv: `make demo` and `make test` work from a fresh clone (they create .venv).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test docs bench bench-planner bench-dask bench-threads bench-first-call bench-nn bench-seq bench-stats calibrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m fastconv warmup
	$(PY) examples/demo.py --out demo_out
	$(PY) examples/out_of_core.py --shape 192 192 192 --chunks 64
	$(PY) examples/train_cnn_digits.py --epochs 3 --out demo_out
	$(PY) examples/hyena.py --task text --steps 250 --chars 300000 --width 32 --sample 120 --out demo_out
	$(PY) examples/hyena.py --task recall --steps 300 --pairs 4 --out demo_out
	$(PY) examples/stats_physics.py --out demo_out

# two worker processes (CI has 2 cores), each test file on one worker, so a
# file's numba kernels compile once; a kernel that both workers need compiles
# in each unless the other has already written it to numba's on-disk cache
TEST_WORKERS ?= 2
# the originals' own test files (shipped in their wheels), with the functions
# fastconv replaces rerouted to its drop-ins (tests/originals/reroute.py)
ORIGINALS := scipy.signal.tests.test_signaltools scipy.ndimage.tests.test_filters \
             numpy._core.tests.test_numeric astropy.convolution.tests.test_convolve \
             astropy.convolution.tests.test_convolve_fft
# dask-image ships no tests in its wheel: these come from its sdist on the
# registry (tests/originals/sdist_tests.py, into the ignored .originals/)
DASK_IMAGE_TESTS := tests/test_dask_image/test_ndfilters/test__conv.py \
                    tests/test_dask_image/test_ndfilters/test__gaussian.py
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile
	$(PY) -m pytest -n $(TEST_WORKERS) -p tests.originals.reroute -p no:cacheprovider \
	    -o addopts="-q -rxX" --pyargs $(ORIGINALS)
	d=$$($(PY) -m tests.originals.sdist_tests dask-image .originals $(DASK_IMAGE_TESTS)) && \
	$(PY) -m pytest -p tests.originals.reroute -p no:cacheprovider -o addopts="-q -rxX" \
	    $$d/test__conv.py $$d/test__gaussian.py

# the documentation site (Sphinx; the docs extra is part of the test extra)
docs: $(STAMP)
	$(PY) -m sphinx -q -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

# benchmarks never run in the tests; BLAS env overrides are dropped for them only
bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/run.py --json bench.json
	$(PY) benchmarks/table.py bench.json
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/nn_bench.py --json bench-nn.json
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/seq_bench.py --json bench-seq.json
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/stats_bench.py --json bench-stats.json

# fastconv.dask against dask_image.ndfilters and in-memory fastconv (the
# issue's sizes: 16384^2 and 512^3 float32; SCALE=0.25 for a quick look)
SCALE ?= 1.0
bench-dask: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/dask_bench.py --scale $(SCALE) --json bench-dask.json

# each method at 1, 2, 4 ... all cores, against scipy (workers=all) and cv2
bench-threads: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/threads.py

# fastconv.nn layers against torch CPU (float32, N=8): ratios, GFLOP/s, % of GEMM peak
bench-nn: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/nn_bench.py --json bench-nn.json

# fastconv.nn's sequence convolutions against torch.fft / scipy.fft / numpy.fft pipelines
bench-seq: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/seq_bench.py --json bench-seq.json

# fastconv.stats / physics against scipy.stats, pandas, bottleneck, statsmodels, KDEpy
bench-stats: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/stats_bench.py --json bench-stats.json

# the cold first call of every public function (fresh process, empty numba cache)
bench-first-call: $(STAMP)
	$(PY) benchmarks/first_call.py --json bench-first-call.json

# how often auto picks (nearly) the fastest method, on 200 random problems
bench-planner: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/planner.py -n 200

# refit the shipped cost coefficients (prints JSON for planning/cost.py)
calibrate: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/calibrate.py -n 300

clean:
	rm -rf $(VENV) demo_out .pytest_cache .hypothesis
