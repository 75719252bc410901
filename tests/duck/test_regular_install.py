"""duck installed the way README's first command installs it: a regular (non-editable) install.

A fresh plain virtual environment (no ``--system-site-packages``) gets duck's wheel and a tiny
package of its own; duck's dependencies come from this test's environment through a ``.pth``
file, which puts them *after* the new environment's site-packages. A program recorded by the
installed ``duck`` must see exactly the ``sys.path`` that the same python gives it, and import
the package installed next to duck.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """\
import json, sys
import installed_probe
print(json.dumps({"path": sys.path, "probe": installed_probe.NAME}))
"""


def _clean_environment(**more: str) -> dict[str, str]:
    """This process's environment without what points Python at other packages (the checkout)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env.update(more)
    return env


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          cwd=cwd, env=_clean_environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _source_copy(target: Path) -> Path:
    """What a source distribution holds, so building leaves no egg-info or build folder in the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    for package in ("duck", "models", "corpus", "trainer"):
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    return target


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("regular-install")
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    probe = base / "probe"
    (probe / "installed_probe").mkdir(parents=True)
    (probe / "installed_probe" / "__init__.py").write_text('NAME = "installed next to duck"\n')
    (probe / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "installed-probe"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["installed_probe"]\n')
    wheels, source = base / "wheels", _source_copy(base / "source")
    _pip("wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source), str(probe), cwd=base)
    _pip("--python", str(python), "install", "-q", "--no-index", "--no-deps", *map(str, sorted(wheels.glob("*.whl"))),
         cwd=base)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    assert (site / "duck" / "__init__.py").is_file(), "duck should be installed into the new environment"
    deps = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "zz-duck-test-dependencies.pth").write_text("".join(f"{path}\n" for path in deps))
    return env_dir


@pytest.mark.parametrize("more", [{}, {"PYTHONSAFEPATH": "1"}], ids=["plain", "safe-path"])
def test_the_program_sees_the_sys_path_python_gives_it(venv: Path, tmp_path: Path, more: dict) -> None:
    program_dir, extra, cwd = tmp_path / "prog", tmp_path / "extra", tmp_path / "elsewhere"
    for folder in (program_dir, extra, cwd):
        folder.mkdir()
    program = program_dir / "prog.py"
    program.write_text(PROGRAM)
    env = _clean_environment(PYTHONPATH=str(extra), **more)
    plain = subprocess.run([str(venv / "bin" / "python"), str(program)], cwd=cwd, env=env,
                           capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    expected = json.loads(plain.stdout)
    assert expected["probe"] == "installed next to duck"

    which = subprocess.run([str(venv / "bin" / "python"), "-c", "import duck; print(duck.__file__)"],
                           cwd=cwd, env=env, capture_output=True, text=True)
    assert which.stdout.startswith(str(venv)), f"duck should come from the new environment: {which.stdout}"

    recorded = subprocess.run([str(venv / "bin" / "duck"), "record", str(program), "-o", str(tmp_path / "run.trace")],
                              cwd=cwd, env=env, capture_output=True, text=True)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert json.loads(recorded.stdout) == expected
