"""Finding the other CPython interpreters on this machine (python3.12, python3.13) for cross-version tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys


def other_pythons() -> list[str]:
    """Interpreters of minor versions 3.11-3.13 other than the running one that actually start."""
    found = []
    for minor in (11, 12, 13):
        if sys.version_info[:2] == (3, minor):
            continue
        candidates = [shutil.which(f"python3.{minor}")] + sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}*/bin/python3.{minor}")))
        for path in filter(None, candidates):
            try:
                ok = subprocess.run([path, "-c", "import sys"], capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            if ok:
                found.append(path)
                break
    return found
