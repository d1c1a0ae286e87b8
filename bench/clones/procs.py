"""Child processes, ports and interrupts: bench/common/bench_procs.py, shared by every benchmark."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

from bench_procs import *  # noqa: E402,F401,F403
