"""The fuzz suite's long profile: every target of tests/test_fuzz_*.py with 10,000 examples
(the end-to-end CLI target with 250), as a slow test (`pytest -m slow tests/test_fuzz_long.py`;
about 1½ hours on one core). Its counts are in docs/projects.md, "Fuzzed inputs".

The same, with the per-target statistics:
    HYPOTHESIS_PROFILE=long OMP_NUM_THREADS=1 nice python -m pytest -q -p no:cacheprovider \\
        tests/test_fuzz_*.py --hypothesis-show-statistics
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_fuzz_*.py") if p.name != Path(__file__).name)


@pytest.mark.slow
def test_the_long_fuzz_profile_finds_nothing():
    env = {**os.environ, "HYPOTHESIS_PROFILE": "long", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", *TARGETS],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
