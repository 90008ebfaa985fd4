"""The embedded model's threads follow the cores free at the moment of generating."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from surveyor.write.llm import free_cores

SPIN = "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end: pass"


def test_free_cores_is_one_when_every_core_is_busy():
    cores = os.cpu_count() or 1
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(cores)]
    try:
        time.sleep(0.3)  # let them start
        assert free_cores(sample_s=0.5) == 1
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert 1 <= free_cores(sample_s=0.05) <= cores
