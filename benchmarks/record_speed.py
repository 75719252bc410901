"""Benchmark: whole-process cost of ``duck record`` against plain Python, a do-nothing C tracer and coverage.py.

Five small programs (sorting, recursion, a tight loop, a simulation with objects, word
counting) are each run as a whole process, every mode once per round and the rounds
interleaved (after one round that is not counted and fills the bytecode cache, kept in the
temporary folder as an installed duck's would be); each run's wall time is divided by the plain
``python prog.py`` run of the same program in the same round, and the median over the rounds is
kept. Modes:

- ``floor``: a C trace function that does nothing (``PyEval_SetTrace`` with a callback that
  returns 0), built here on the fly with setuptools in a temporary folder: what any tracer
  that sees every line costs at least;
- ``coverage``: ``python -m coverage run`` with its C tracer (skipped when coverage is not
  installed; ``pip install coverage``);
- ``duck``: ``python -m duck record prog.py -o TRACE --quiet`` (the C core);
- ``duck-pure``: the same with ``DUCK_PURE_PYTHON=1`` (the pure-Python fallback).

``--baseline DIR`` adds ``base`` (and ``base-pure`` when ``duck-pure`` is among the modes): the
same runs of another checkout of duck (its C core built in place), in the same rounds, for
before/after figures. (Checkouts from 197ecc3 up to the fix in rec2 dropped ``DUCK_PURE_PYTHON``
from the child's environment, so their ``-pure`` runs recorded with the C core.)

Run: ``OMP_NUM_THREADS=1 python benchmarks/record_speed.py [--rounds 5] [--scale 1.0]
[--modes floor,coverage,duck,duck-pure] [--baseline DIR]``. It prints a table (per program, geomean, worst).
A measurement script, not a test: it asserts nothing, and on a shared machine only the ratios
within one run mean anything. ``benchmarks/record_startup.py`` times the part of every ratio that
does not depend on the program: ``duck record`` of an empty program against ``python``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT  # --baseline DIR

# name -> program text; SIZE is replaced by the size (scaled). Plain runs take ~0.05-0.1 s.
PROGRAMS = {
    "sorting": """
        import random
        random.seed(1)

        def merge_sort(xs):
            if len(xs) <= 1:
                return xs
            mid = len(xs) // 2
            left, right = merge_sort(xs[:mid]), merge_sort(xs[mid:])
            out = []
            i = j = 0
            while i < len(left) and j < len(right):
                if left[i] <= right[j]:
                    out.append(left[i])
                    i += 1
                else:
                    out.append(right[j])
                    j += 1
            out.extend(left[i:])
            out.extend(right[j:])
            return out

        def bubble(xs):
            xs = list(xs)
            for i in range(len(xs)):
                for j in range(len(xs) - 1 - i):
                    if xs[j] > xs[j + 1]:
                        xs[j], xs[j + 1] = xs[j + 1], xs[j]
            return xs

        data = [random.randint(0, 1000) for _ in range(SIZE * 2)]
        assert merge_sort(data) == sorted(data)
        small = data[:SIZE // 4]
        assert bubble(small) == sorted(small)
        print(len(data))
    """,
    "recursion": """
        def fib(k):
            if k < 2:
                return k
            return fib(k - 1) + fib(k - 2)

        def hanoi(n, a, b, c, moves):
            if n == 0:
                return moves
            hanoi(n - 1, a, c, b, moves)
            moves.append((a, c))
            return hanoi(n - 1, b, a, c, moves)

        total = 0
        for _ in range(SIZE // 25):
            total += fib(12)
        print(total, len(hanoi(11, "A", "B", "C", [])))
    """,
    "loop": """
        def collatz_steps(limit):
            best = 0
            for start in range(1, limit):
                n = start
                steps = 0
                while n != 1:
                    n = n // 2 if n % 2 == 0 else 3 * n + 1
                    steps += 1
                if steps > best:
                    best = steps
            return best

        print(collatz_steps(SIZE * 3))
    """,
    "objects": """
        class Vec:
            def __init__(self, x, y):
                self.x = x
                self.y = y

            def add(self, other):
                return Vec(self.x + other.x, self.y + other.y)

            def scale(self, k):
                return Vec(self.x * k, self.y * k)

        class Particle:
            def __init__(self, pos, vel):
                self.pos = pos
                self.vel = vel

            def step(self, dt):
                self.pos = self.pos.add(self.vel.scale(dt))
                if self.pos.y < 0:
                    self.vel = Vec(self.vel.x, -self.vel.y)

        particles = [Particle(Vec(i, 10.0), Vec(1.0, -2.0 - i % 3)) for i in range(20)]
        for tick in range(SIZE // 2):
            for p in particles:
                p.step(0.1)
        print(round(sum(p.pos.x for p in particles), 3))
    """,
    "words": """
        WORDS = "the quick brown fox jumps over the lazy dog and then the dog sleeps".split()

        def make_text(n):
            return " ".join(WORDS[(i * 7) % len(WORDS)] for i in range(n))

        def count_words(text):
            counts = {}
            for word in text.split():
                word = word.strip(".,").lower()
                if word:
                    counts[word] = counts.get(word, 0) + 1
            return counts

        counts = count_words(make_text(SIZE * 30))
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        print(top)
    """,
}
BASE_N = 400

NOOP_C = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static int noop(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg) { return 0; }
static PyObject *install(PyObject *self, PyObject *unused) { PyEval_SetTrace(noop, NULL); Py_RETURN_NONE; }
static PyMethodDef methods[] = {{"install", install, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "duck_noop_tracer", NULL, -1, methods};
PyMODINIT_FUNC PyInit_duck_noop_tracer(void) { return PyModule_Create(&mod); }
"""
NOOP_SETUP = """
from setuptools import setup, Extension
setup(name="duck_noop_tracer", ext_modules=[Extension("duck_noop_tracer", ["noop.c"])])
"""
NOOP_RUN = "import sys, runpy, duck_noop_tracer; sys.argv = sys.argv[1:]; duck_noop_tracer.install(); " \
           "runpy.run_path(sys.argv[0], run_name='__main__')"


def build_noop(folder: Path) -> bool:
    """Build the do-nothing C tracer into ``folder``; False when there is no compiler."""
    (folder / "noop.c").write_text(NOOP_C)
    (folder / "setup.py").write_text(NOOP_SETUP)
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=folder,
                          capture_output=True, text=True)
    return done.returncode == 0 and any(folder.glob("duck_noop_tracer*.so"))


def has_coverage() -> bool:
    return subprocess.run([sys.executable, "-c", "import coverage.tracer"], capture_output=True).returncode == 0


def commands(mode: str, prog: Path, work: Path) -> tuple[list[str], dict]:
    # Bytecode is cached (in the temporary folder) as an installed duck's is: with PYTHONDONTWRITEBYTECODE
    # set, every run would compile duck's sources again, ~0.1 s that no user pays.
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("DUCK_PURE_PYTHON", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    if mode == "plain":
        return [py, str(prog)], env
    if mode == "floor":
        env["PYTHONPATH"] = str(work)
        return [py, "-c", NOOP_RUN, str(prog)], env
    if mode == "coverage":
        env["COVERAGE_FILE"] = str(work / ".coverage")
        env["COVERAGE_CORE"] = "ctrace"
        return [py, "-m", "coverage", "run", str(prog)], env
    if mode in ("duck", "duck-pure", "base", "base-pure"):
        if mode.endswith("-pure"):
            env["DUCK_PURE_PYTHON"] = "1"
        if mode.startswith("base"):
            env["PYTHONPATH"] = str(BASELINE)
        return [py, "-m", "duck", "record", "--quiet", "--timeout", "900", "-o", str(work / "t.trace"), str(prog)], env
    raise ValueError(mode)


def run_once(cmd: list[str], env: dict, cwd: Path) -> float:
    """Wall time of one run, started in ``cwd`` (the temporary folder: ``python -m duck`` would import the
    checkout in the current folder before the one PYTHONPATH names)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--modes", default="floor,coverage,duck,duck-pure")
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    parser.add_argument("--baseline", type=Path, help="another checkout of duck to run as base/base-pure")
    args = parser.parse_args()
    if args.baseline is not None:
        global BASELINE
        BASELINE = args.baseline.resolve()
        args.modes += ",base" + (",base-pure" if "duck-pure" in args.modes.split(",") else "")
    n = max(int(BASE_N * args.scale), 10)
    with tempfile.TemporaryDirectory(prefix="duck-speed-") as tmp:
        work = Path(tmp)
        modes = [m for m in args.modes.split(",") if m]
        if "floor" in modes and not build_noop(work):
            print("floor: no compiler, skipped")
            modes.remove("floor")
        if "coverage" in modes and not has_coverage():
            print("coverage: not installed, skipped")
            modes.remove("coverage")
        names = [p for p in args.programs.split(",") if p]
        progs = {}
        for name in names:
            progs[name] = work / f"{name}.py"
            progs[name].write_text(textwrap.dedent(PROGRAMS[name]).replace("SIZE", str(n)))
        ratios: dict[tuple[str, str], list[float]] = {(p, m): [] for p in names for m in modes}
        plain_times: dict[str, list[float]] = {p: [] for p in names}
        for name in names:  # a round not counted: fills the bytecode cache and the page cache
            for mode in ["plain", *modes]:
                run_once(*commands(mode, progs[name], work), work)
        for r in range(args.rounds):
            for name in names:
                plain = run_once(*commands("plain", progs[name], work), work)
                plain_times[name].append(plain)
                for mode in modes:
                    ratios[name, mode].append(run_once(*commands(mode, progs[name], work), work) / plain)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        print(f"Python {sys.version.split()[0]}, {args.rounds} interleaved rounds, whole process, "
              f"ratio to plain python (median)\n")
        header = f"| {'mode':<10} | " + " | ".join(f"{p:>9}" for p in names) + " | geomean |   worst |"
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        print(f"| {'plain s':<10} | " + " | ".join(f"{statistics.median(plain_times[p]):>9.3f}" for p in names)
              + " |         |         |")
        for mode in modes:
            meds = [statistics.median(ratios[p, mode]) for p in names]
            geo = math.exp(sum(math.log(x) for x in meds) / len(meds))
            print(f"| {mode:<10} | " + " | ".join(f"{x:>8.1f}x" for x in meds) + f" | {geo:>6.1f}x | {max(meds):>6.1f}x |")


if __name__ == "__main__":
    main()
