"""Linux Landlock through ctypes: the kernel-enforced part of duck's sandbox.

``abi_version()`` says which Landlock ABI the running kernel offers (0: none).
``restrict_self(writable, readable, ...)`` confines the calling thread (and everything it
starts afterwards) for good: file-system writes only beneath ``writable``; reads only beneath
``readable`` when it is given; TCP bind/connect denied (ABI 4+); signals and abstract unix
sockets scoped to the sandbox (ABI 6+). It returns what was applied, for the run's report.

Written by hand with ctypes because the kept ``landlock`` package (1.0.0.dev5) stops at the
file-system rights and has neither the network rules (ABI 4) nor the scopes (ABI 6) that duck
needs. It is not a policy: ``duck.sandbox.confine`` decides what is writable and readable.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import struct

# syscall numbers are the same on x86-64 and on the generic table (arm64, riscv64)
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# file-system rights, with the ABI that introduced each
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_READ = EXECUTE | READ_FILE | READ_DIR
_WRITE_V1 = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
             | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM)
#: rights that apply to a file (not a folder) in a path-beneath rule
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class LandlockError(OSError):
    """The kernel refused a Landlock call (the message names which)."""


@functools.lru_cache(maxsize=None)
def libc():
    """The C library through ctypes: one handle per process (a handle costs a class of its
    own; the fork server makes it before it forks, so its runs do not)."""
    return ctypes.CDLL(None, use_errno=True)


_libc = libc


def abi_version() -> int:
    """The kernel's Landlock ABI (1, 2, ...), or 0 where Landlock is absent or disabled."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64", "arm64", "riscv64"):
        return 0
    try:
        value = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(value), 0)


def _write_rights(abi: int) -> int:
    rights = _WRITE_V1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"landlock {what}: {os.strerror(errno)}")
    return result


def restrict_self(writable: list[str], readable: list[str] | None = None, *,
                  deny_tcp: bool = True, scope: bool = True) -> dict:
    """Confine this thread for good (see the module docstring); returns what was applied.

    ``writable``: folders (or files) where every write right is allowed; elsewhere none is.
    ``readable``: when given, reading and executing are allowed only beneath these paths (and
    beneath ``writable``). Paths that do not exist are skipped. Raises ``LandlockError`` when
    Landlock is missing or refuses; the caller decides whether that is fatal.
    """
    abi = abi_version()
    if abi < 1:
        raise LandlockError(38, "landlock is not available on this kernel")
    libc = _libc()
    handled_fs = _write_rights(abi) | (_READ if readable is not None else 0)
    handled_net = (NET_BIND_TCP | NET_CONNECT_TCP) if deny_tcp and abi >= 4 else 0
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if scope and abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled_fs, handled_net)
    else:
        attr = struct.pack("=Q", handled_fs)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(libc.syscall(_SYS_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)),
                     "create_ruleset")
    rules = [(path, handled_fs) for path in writable]
    if readable is not None:
        rules += [(path, _READ) for path in readable]
    applied_paths = []
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path that does not exist needs no rule
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = struct.pack("=Qi", rights, fd)
                rule_buffer = ctypes.create_string_buffer(rule, len(rule))
                _check(libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                    rule_buffer, ctypes.c_uint32(0)), f"add_rule {path}")
                applied_paths.append(path)
            finally:
                os.close(fd)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
        _check(libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    return {
        "abi": abi,
        "fs_write": True,
        "fs_read": readable is not None,
        "net_tcp": bool(handled_net),
        "scope_signal": bool(scoped & SCOPE_SIGNAL),
        "scope_abstract_unix": bool(scoped & SCOPE_ABSTRACT_UNIX_SOCKET),
    }
