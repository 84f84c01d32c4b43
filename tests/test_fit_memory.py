"""Data larger than memory: with mini-batches, a fit streams the file a block at a time.

A file of about 640 MB is fitted in a process whose address space is limited to 320 MB
(RLIMIT_AS: the interpreter and NumPy take some 150 MB of it), so it cannot hold the file,
nor its columns as float64 (about 45 MB each, for 5.7 million rows, plus the text).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

LIMIT = 320 << 20
SIZE = 640 << 20


def make_file(path: Path) -> int:
    """Rows of y = 3 exp(-x/2) + 1.5 with a padding column the model does not read; returns
    the rows written.  One block of text, written again and again: fast."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 10_000)
    y = 3.0 * np.exp(-0.5 * x) + 1.5
    pad = "z" * 80
    block = "".join(f"{a:.6f},{b:.6f},{pad}\n" for a, b in zip(x, y)).encode()
    copies = SIZE // len(block) + 1
    with open(path, "wb") as handle:
        handle.write(b"x,y,note\n")
        for _ in range(copies):
            handle.write(block)
    return copies * len(x)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced this way on Linux")
def test_mini_batches_fit_a_file_larger_than_the_memory_limit(tmp_path: Path) -> None:
    import resource

    path = tmp_path / "big.csv"
    rows = make_file(path)
    assert path.stat().st_size > 1.9 * LIMIT

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NO_COLOR": "1"}
    # numpy's reader: pyarrow's allocator reserves address space up front, which RLIMIT_AS
    # counts although the memory is never used (benchmarks/bench_fit.py measures the peak
    # resident memory with either reader).
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autodiff_cli",
            "fit",
            "a*exp(-k*x) + c",
            "--data",
            str(path),
            "--init",
            "1",
            "-O",
            "adam",
            "--lr",
            "0.05",
            "--batch-size",
            "4096",
            "--epochs",
            "1",
            "--reader",
            "numpy",
            "--json",
        ],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["rows"] == rows
    assert result["parameters"]["a"] == pytest.approx(3.0, rel=1e-3)
    assert result["parameters"]["k"] == pytest.approx(0.5, rel=1e-3)
    assert result["parameters"]["c"] == pytest.approx(1.5, rel=1e-3)
    assert result["steps"] == -(-rows // 4096)
