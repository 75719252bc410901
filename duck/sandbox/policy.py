"""What a sandboxed run may use: resource limits, the environment it gets, what it may read.

``Policy`` is plain data (it travels to the fork server as JSON); ``allowed_env`` builds the
environment of a confined child from an allowlist, so no API key, token or the user's HOME
reaches code that duck did not write. Nothing here starts a process (``duck.sandbox.server``
does) or applies a limit (``duck.sandbox.confine`` does).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import asdict, dataclass

#: environment variables a confined child may keep (besides LC_* and the PYTHON* below)
ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")
#: PYTHON* variables that change how code runs interactively or that point at the user's files
ENV_PYTHON_REFUSED = ("PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONBREAKPOINT", "PYTHONUSERBASE", "PYTHONPYCACHEPREFIX",
                      "PYTHONHISTORY")
#: words that mark a variable as a secret: one kept for its prefix (LC_*, PYTHON*) is still
#: refused when its name holds one (``PYTHON_API_KEY``, ``LC_SECRET_TOKEN``)
ENV_SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSW|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE", re.IGNORECASE)
#: folders a confined child may read when reads are restricted (the interpreter's come on top)
SYSTEM_READABLE = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt", "/dev", "/proc",
                   "/sys", "/var/lib", "/nix")
#: top-level folders never readable when privileges are dropped as root (homes hold the user's secrets)
HOME_FOLDERS = ("/root", "/home")
#: folders hidden too when privileges are dropped as root: where other programs' unix sockets
#: (a database, the docker daemon, the system bus) and mounted secrets live; Landlock does
#: not cover a connect to a socket with a path, an empty folder in its place does
SHARED_FOLDERS = ("/run",)
#: and, where reads are restricted (corpus and eval runs), the shared temporary folders (the
#: run's own files under them are shown again)
SHARED_FOLDERS_READ = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class Policy:
    """Limits and permissions of every run of one sandbox. ``None`` leaves a limit as it is.

    ``disk_mb``: what the run's folders (its own and ``writable``) may hold together; the
    supervisor stops a run beyond it (``stopped_by="disk"``), as RLIMIT_FSIZE bounds one file
    only and a run could fill the disk with many. ``processes`` is RLIMIT_NPROC for the run's own uid (when duck runs as root every run gets
    an unprivileged uid of its own, so the count is exact; otherwise it is added to what the
    user already runs). ``read_anywhere=False`` lets the run read only the system's and the
    interpreter's folders and its own. ``network=True`` leaves TCP open.
    """

    memory_mb: int | None = 1024
    cpu_s: int | None = 120
    file_size_mb: int | None = 64
    disk_mb: int | None = 4096
    processes: int | None = 32
    open_files: int | None = 256
    read_anywhere: bool = True
    network: bool = False
    drop_privileges: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def allowed_env(env: dict[str, str] | None, home: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a confined child: the allowlisted part of ``env`` (default: this
    process's), HOME and the temporary folders pointing at ``home``, then ``extra`` (duck's own
    settings, trusted) on top."""
    source = os.environ if env is None else env
    kept = {}
    for name, value in source.items():
        if name in ENV_ALLOWED:
            kept[name] = value
        elif ENV_SECRET_WORDS.search(name):
            continue
        elif name.startswith("LC_") or (name.startswith("PYTHON") and name not in ENV_PYTHON_REFUSED):
            kept[name] = value
    kept.setdefault("PATH", os.defpath)
    kept.update(HOME=home, TMPDIR=home, TMP=home, TEMP=home, PYTHONDONTWRITEBYTECODE="1")
    kept.update(extra or {})
    return kept


def interpreter_paths(python: str | None = None) -> list[str]:
    """Folders an interpreter needs to read: its prefixes, its executable's folder, and this
    process's ``sys.path`` (where duck and the installed packages live). Worked out once per
    interpreter in a process (the fork server warms it, so its children do not redo it)."""
    return list(_interpreter_paths(python))


@functools.lru_cache(maxsize=8)
def _interpreter_paths(python: str | None) -> tuple[str, ...]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(sys.executable)}
    if python:
        paths.add(os.path.dirname(os.path.abspath(python)))
        paths.add(os.path.dirname(os.path.realpath(python)))
        # a venv's interpreter links into its base installation: read the pyvenv.cfg's home too
        cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(python))), "pyvenv.cfg")
        try:
            with open(cfg, encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.partition("=")
                    if key.strip() == "home":
                        paths.add(os.path.dirname(value.strip()))
        except OSError:
            pass
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    return tuple(sorted(p for p in paths if p))

