"""Fetch an original's own test files from its source distribution.

Some originals ship no tests in their wheel (dask-image); their source
distribution on the package registry has them.  ``python -m
tests.originals.sdist_tests DIST DEST PATH...`` downloads the sdist of the
installed version of ``DIST`` (``pip download --no-binary``, the registry
only), and extracts the listed paths (relative to the sdist's root) flat
into ``DEST/DIST-VERSION/``; nothing is downloaded when they are there
already.  Prints that folder.  The files are never committed
(``.originals/`` is ignored): they are the original's, run as they are.
"""
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version


def fetch(dist, dest, paths):
    ver = version(dist)
    out = os.path.join(dest, f"{dist}-{ver}")
    want = [os.path.join(out, os.path.basename(p)) for p in paths]
    if all(os.path.exists(w) for w in want):
        return out
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", f"{dist}=={ver}", "-d", tmp], check=True)
        (sdist,) = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")]
        with tarfile.open(os.path.join(tmp, sdist)) as tar:
            root = tar.getnames()[0].split("/")[0]
            os.makedirs(out, exist_ok=True)
            for p, w in zip(paths, want):
                member = tar.extractfile(f"{root}/{p}")
                if member is None:
                    raise FileNotFoundError(f"{p} is not in {sdist}")
                with open(w + ".part", "wb") as f:
                    f.write(member.read())
                os.replace(w + ".part", w)
    return out


if __name__ == "__main__":
    print(fetch(sys.argv[1], sys.argv[2], sys.argv[3:]))
