"""Confining the current process, called in a freshly forked child before untrusted code runs.

``enter(policy, folder, ...)`` makes the calling process the sandbox: a process group of its own,
rlimits (address space, CPU, file size, processes, open files, no core files), an
unprivileged uid/gid when it runs as root (with the home folders and the other users'
processes hidden in a mount namespace of its own), ``no_new_privs``, Landlock (writes only beneath the
run's folder, reads restricted where asked, TCP denied, signals and abstract sockets scoped),
and SIGKILL when its supervisor dies. It returns a report of what was applied.

``enter_nested(policy, folder, ...)`` is for one sample of a batch: the batch's child already
entered the sandbox once; each sample's own process (forked from it) adds a Landlock layer of
its own on top (writes only beneath the sample's folder; signals, abstract sockets and ptrace
scoped to this new, nested domain), so a sample cannot reach its batch's process nor leave a
file where a later sample of the batch could find it.

It is irreversible by design and meant only for a child that will run untrusted code or exec
it; it is not the supervisor (``duck.sandbox.server``) and it starts no process.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import signal

from duck.sandbox import landlock
from duck.sandbox.policy import (HOME_FOLDERS, SHARED_FOLDERS, SHARED_FOLDERS_READ, SYSTEM_READABLE, Policy,
                                 interpreter_paths)

_PR_SET_PDEATHSIG, _PR_SET_KEEPCAPS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 1, 8, 47, 2
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522


class ConfinementError(RuntimeError):
    """The sandbox could not be set up as asked (the run must not go on)."""


_libc = landlock.libc


def _tasks_of(uid: int) -> int:
    """How many tasks (threads) the given real uid runs now (RLIMIT_NPROC counts those)."""
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                status = f.read()
        except OSError:
            continue
        real_uid = threads = None
        for line in status.splitlines():
            if line.startswith("Uid:"):
                real_uid = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        if real_uid == uid:
            count += threads or 1
    return count


def _set_limit(kind: int, value: int | None) -> None:
    if value is None:
        return
    _, hard = resource.getrlimit(kind)
    value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
    try:
        resource.setrlimit(kind, (value, value if kind != resource.RLIMIT_CPU else hard))
    except (ValueError, OSError):
        pass  # a limit this platform does not have; the supervisor's timeout still holds


def _keep_read_search_capability() -> bool:
    """After the uid change: keep CAP_DAC_READ_SEARCH (ambient, so it survives exec)."""
    libc = _libc()
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    bit = 1 << _CAP_DAC_READ_SEARCH
    data = (ctypes.c_uint32 * 6)(bit, bit, bit, 0, 0, 0)  # effective, permitted, inheritable (x2 words)
    if libc.capset(header, data) != 0:
        return False
    return libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH, 0, 0) == 0


_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 1 << 18


@functools.lru_cache(maxsize=512)
def _resolved(path: str) -> str | None:
    """``path`` with its links resolved (None: it does not exist). Remembered: the interpreter's
    folders are resolved once in the fork server (``warm``), not again in every run."""
    return os.path.realpath(path) if os.path.exists(path) else None


def warm(python: str | None = None) -> None:
    """Resolve the interpreter's folders and their private ancestors in this process, so the
    runs forked from it find them done (``_hide_private_folders``)."""
    for path in interpreter_paths(python):
        resolved = _resolved(path)
        if resolved:
            _private_ancestor(resolved)


def _outermost(paths: list[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted({_resolved(p) or os.path.realpath(p) for p in paths if p}):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


@functools.lru_cache(maxsize=512)
def _private_ancestor(path: str) -> str | None:
    """The outermost folder above ``path`` that other users cannot search, if any (remembered,
    as ``_resolved``)."""
    found = None
    current = os.path.dirname(os.path.abspath(path))
    while current not in ("/", ""):
        try:
            if not os.stat(current).st_mode & 0o001:
                found = current
        except OSError:
            return found
        current = os.path.dirname(current)
    return found


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _hide_private_folders(needed: list[str], also: tuple[str, ...] = ()) -> bool:
    """In a mount namespace of this process's own: an empty tmpfs over each home folder, each
    of ``also`` (``SHARED_FOLDERS``) and each folder the unprivileged uid could not enter on
    the way to a ``needed`` path, with just the ``needed`` paths under them bound back in (the
    interpreter, duck, the run's files). Root-only and the users' files, and the sockets other
    programs listen on, then cannot be reached. False where the kernel refuses (no
    CAP_SYS_ADMIN); raises ``ConfinementError`` if it fails half-way."""
    libc = _libc()
    needed = [r for r in map(_resolved, (p for p in needed if p)) if r]
    hidden = [h for h in (*HOME_FOLDERS, *also) if os.path.isdir(h) and not os.path.islink(h)]
    hidden += [a for a in map(_private_ancestor, needed) if a]
    hidden = _outermost(hidden)
    keep = [p for p in _outermost(needed)
            if any(_under(p, h) for h in hidden) and not any(_under(h, p) for h in hidden)]
    if libc.unshare(_CLONE_NEWNS) != 0:
        return False
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    # opened in the new namespace (a bind from the old one is refused), before the tmpfs hides them
    fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep}
    umask = os.umask(0o022)  # the skeleton folders must be searchable by the unprivileged uid
    try:
        for number, folder in enumerate(hidden):
            if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=0755,size=64k") != 0:
                if number == 0:
                    return False
                raise ConfinementError(f"cannot hide {folder} (errno {ctypes.get_errno()})")
        for path, fd in fds.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                open(path, "a").close()
            if libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None) != 0:
                raise ConfinementError(f"cannot show {path} in the sandbox (errno {ctypes.get_errno()})")
        return True
    finally:
        os.umask(umask)
        for fd in fds.values():
            os.close(fd)


_MS_NOEXEC = 0x8


def _hide_other_processes() -> bool:
    """In this process's own mount namespace: a procfs of its own over ``/proc`` that shows a
    process only to its own uid (``hidepid=invisible``), so the run, once it is an unprivileged
    uid, cannot list duck's or the users' processes or read their command lines (tokens passed
    as arguments). False where the kernel refuses (the run then sees the system's ``/proc``)."""
    return _libc().mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, b"hidepid=invisible") == 0


def _drop_to(uid: int, keep_read_search: bool) -> bool:
    """Become ``uid`` (group the same, no supplementary groups); True if CAP_DAC_READ_SEARCH was kept."""
    libc = _libc()
    if keep_read_search:
        libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    kept = _keep_read_search_capability() if keep_read_search else False
    libc.prctl(_PR_SET_KEEPCAPS, 0, 0, 0, 0)
    return kept


def readable_paths(python: str | None, extra: list[str], *, anywhere: bool) -> list[str]:
    """Where a run may read: everything but the home folders (``anywhere``), or only the system's
    and the interpreter's folders; ``extra`` (the run's own files) in both cases."""
    if anywhere:
        base = [os.path.join("/", name) for name in sorted(os.listdir("/"))
                if os.path.join("/", name) not in HOME_FOLDERS]
    else:
        base = list(SYSTEM_READABLE)
    return base + interpreter_paths(python) + list(extra)


def enter(policy: Policy, folder: str, *, uid: int | None = None, writable: list[str] = (),
          readable: list[str] = (), python: str | None = None, require_landlock: bool = False) -> dict:
    """Confine this process (see the module docstring). ``uid``: the unprivileged uid to take when
    running as root. Raises ``ConfinementError`` when ``require_landlock`` and Landlock is missing."""
    report: dict = {"landlock": None, "uid": None, "rlimits": {}, "no_new_privs": False}
    # a process group of its own, in the server's session (which has no terminal): the server
    # stops the group, and a new session would cost a scheduler autogroup per run
    try:
        os.setpgid(0, 0)
    except OSError:
        pass  # already a group leader
    os.umask(0o077)
    for name, kind, value, unit in (("memory_mb", resource.RLIMIT_AS, policy.memory_mb, 2**20),
                                    ("cpu_s", resource.RLIMIT_CPU, policy.cpu_s, 1),
                                    ("file_size_mb", resource.RLIMIT_FSIZE, policy.file_size_mb, 2**20),
                                    ("open_files", resource.RLIMIT_NOFILE, policy.open_files, 1),
                                    ("core_files", resource.RLIMIT_CORE, 0, 1)):
        if value is not None:
            _set_limit(kind, value * unit)
            report["rlimits"][name] = value
    abi = landlock.abi_version()
    if require_landlock and abi < 1:
        raise ConfinementError("Landlock is not available on this kernel")
    dropped = False
    read_search = False
    if os.geteuid() == 0 and policy.drop_privileges and uid is not None:
        # root cannot be held by RLIMIT_NPROC and reads everything: become an unprivileged uid.
        # The interpreter may live under a home folder that uid cannot enter (/root is 0700):
        # hide the homes behind a tmpfs that shows only what the run needs; where that is
        # refused, keep CAP_DAC_READ_SEARCH, but only if Landlock then restricts what is read.
        needed = interpreter_paths(python)
        hidden = _hide_private_folders(needed + [folder, *writable, *readable],
                                       SHARED_FOLDERS + (() if policy.read_anywhere else SHARED_FOLDERS_READ))
        report["private_folders_hidden"] = hidden
        if hidden:
            report["other_processes_hidden"] = _hide_other_processes()
        if not hidden and abi < 1 and any(_private_ancestor(p) for p in needed):
            # neither a mount namespace nor Landlock: the unprivileged uid could not even start
            # the interpreter, so the run keeps duck's uid (said in the report)
            report["privileges_kept"] = "the interpreter lies in a folder other users cannot enter"
        else:
            # where the kernel refuses the mount namespace, keep CAP_DAC_READ_SEARCH to reach
            # the interpreter, but only with Landlock restricting what is read
            read_search = _drop_to(uid, keep_read_search=not hidden and abi >= 1)
            dropped = True
            report["uid"] = uid
            report["read_search_capability"] = read_search
    if policy.processes is not None:
        own = 0 if dropped else _tasks_of(os.getuid())
        _set_limit(resource.RLIMIT_NPROC, own + policy.processes)
        report["rlimits"]["processes"] = policy.processes
    if abi >= 1:
        restrict_reads = read_search or not policy.read_anywhere
        reads = readable_paths(python, [folder, *writable, *readable], anywhere=policy.read_anywhere) \
            if restrict_reads else None
        try:
            report["landlock"] = landlock.restrict_self([folder, *writable, "/dev/null"], reads,
                                                        deny_tcp=not policy.network)
        except landlock.LandlockError as exc:
            if require_landlock or read_search:
                raise ConfinementError(str(exc)) from None
            report["landlock_error"] = str(exc)
    if not report["landlock"]:
        _libc().prctl(38, 1, 0, 0, 0)  # no_new_privs even without Landlock
    report["no_new_privs"] = True
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the uid change, which clears it
    if os.getppid() == 1:
        os._exit(137)  # the supervisor died before the signal was armed
    return report


def enter_nested(policy: Policy, folder: str, *, parent: int) -> dict:
    """Confine one sample of a batch further (see the module docstring); the batch's process has
    called ``enter`` already. The new layer handles writes only: reads stay as the batch's layer
    allows them, which lets the samples, run one at a time, read only their own folder (each
    earlier sample's is gone). Raises ``ConfinementError`` where the layer cannot be applied
    (the batch then must not go on)."""
    # a process group of its own, in the batch's session (a new session would cost a scheduler
    # autogroup per sample; only the session leader could take a terminal, and there is none)
    os.setpgid(0, 0)
    try:
        layer = landlock.restrict_self([folder, "/dev/null"], None, deny_tcp=not policy.network)
    except landlock.LandlockError as exc:
        raise ConfinementError(str(exc)) from None
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(137)  # the batch's process died before the signal was armed
    return {"nested_landlock": layer}
