#!/usr/bin/env python3
"""npy_numpy_test.py - NumPy reads what libautoenc writes, and the reverse.

usage: npy_numpy_test.py NPY_TOOL [EXAMPLES_OUT_DIR ...]

Runs `npy_tool write` and loads every file with np.load, checking dtype,
shape and every value; writes arrays with np.save (format 1.0 and 2.0, a
1-d Fortran-order array, uint8 and float32) and checks that `npy_tool
read` sees the same shape and bytes.  Any further arguments are folders of
an example run: every .npy file in them must load in NumPy, hold finite
values, and agree in length with its companions (codes, labels).

Needs Debian's python3-numpy: exits 77 (skipped) without it, except under
CI (CI=true), where a missing NumPy is a failure.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    if os.environ.get("CI") == "true":
        print("FAIL: NumPy is missing (apt-get install python3-numpy)")
        sys.exit(1)
    print("SKIP: NumPy is missing (apt-get install python3-numpy)")
    sys.exit(77)

import io

counts = {"passed": 0, "failed": 0}


def expect(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    counts["passed" if cond else "failed"] += 1


def fnv(raw):
    h = 0xcbf29ce484222325
    for b in raw:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def ours_to_numpy(tool, d):
    subprocess.run([tool, "write", d], check=True)
    x = ((np.arange(60) * 7 % 13) - 6).astype(np.float32) / 4
    cases = {
        "f32_4d.npy": x.reshape(4, 1, 3, 5),
        "f32_2d.npy": x.reshape(6, 10),
        "u8_1d.npy": (np.arange(11) % 10).astype(np.uint8),
        "f32_scalar.npy": np.array(x[0], dtype=np.float32),
        "f32_empty.npy": np.zeros((2, 0, 4), dtype=np.float32),
    }
    for name, want in cases.items():
        got = np.load(os.path.join(d, name))
        expect(got.dtype == want.dtype and got.shape == want.shape and
               np.array_equal(got, want),
               "NumPy loads %s: %s %s" % (name, got.dtype, got.shape))
        saved = io.BytesIO()
        np.save(saved, want)
        with open(os.path.join(d, name), "rb") as f:
            ours = f.read()
        expect(ours == saved.getvalue(),
               "%s has the bytes np.save writes" % name)


def numpy_to_ours(tool, d):
    rng = np.random.default_rng(3)
    arrays = {
        "np_f32.npy": (rng.standard_normal((3, 5)).astype("<f4"), (1, 0)),
        "np_u8.npy": (rng.integers(0, 256, 7).astype(np.uint8), (1, 0)),
        "np_v2.npy": (rng.standard_normal((2, 2, 2)).astype("<f4"), (2, 0)),
        "np_fortran_1d.npy": (np.asfortranarray(
            rng.standard_normal(4).astype("<f4")), (1, 0)),
    }
    for name, (a, version) in arrays.items():
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
        out = subprocess.run([tool, "read", path], check=True,
                             capture_output=True, text=True).stdout.split()
        kind = "f32" if a.dtype == np.float32 else "u8"
        want = [kind, str(a.ndim)] + [str(n) for n in a.shape] + \
            [fnv(np.ascontiguousarray(a).tobytes())]
        expect(out == want, "libautoenc reads NumPy's %s (version %d.%d)" %
               (name, version[0], version[1]))


def example_outputs(folders):
    seen = 0
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith(".npy"):
                    continue
                a = np.load(os.path.join(root, name))
                seen += 1
                expect(a.dtype in (np.float32, np.uint8) and
                       (a.dtype == np.uint8 or np.isfinite(a).all()) and
                       a.size > 0,
                       "%s: %s %s" % (os.path.join(root, name), a.dtype,
                                      a.shape))
    if folders:
        expect(seen > 0, "the example runs wrote .npy files (%d)" % seen)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        ours_to_numpy(tool, d)
        numpy_to_ours(tool, d)
    example_outputs(sys.argv[2:])
    print("numpy interop: %d passed, %d failed" % (counts["passed"],
                                                  counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
