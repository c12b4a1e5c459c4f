"""Reads the arrays and parameters that test/reference/harness.ts writes, and writes results back."""
import json
import math
import os
import sys

import numpy as np


def load():
    folder = sys.argv[1]
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    arrays = {}
    for name, spec in manifest["arrays"].items():
        dtype = "<f4" if spec["dtype"] == "float32" else "<i4"
        a = np.fromfile(os.path.join(folder, name + ".bin"), dtype=dtype)
        assert a.size == spec["length"], name
        arrays[name] = a
    return folder, arrays, manifest["params"]


def plain(x):
    """JSON-safe copy: NaN becomes null, NumPy scalars and arrays become Python ones."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [plain(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(float(x)) else float(x)
    return x


def save(folder, result, arrays=None):
    arrays = arrays or {}
    for name, a in arrays.items():
        np.asarray(a, dtype="<f4").tofile(os.path.join(folder, name + ".out.bin"))
    result = dict(result)
    result["arrays"] = list(arrays)
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(plain(result), f)
