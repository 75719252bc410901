"""`duck fix` end to end, as a user runs it: a subprocess on small buggy programs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BUGGY = '''def largest(xs):
    best = xs[0]
    for x in xs:
        if x < best:  # the bug: keeps the smallest
            best = x
    return best

print(largest([3, 9, 4]))
'''


def duck(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([sys.executable, "-m", "duck", "fix", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **stdin)


def test_fix_prints_a_verified_diff_and_never_touches_the_file(write):
    prog = write("largest.py", BUGGY)
    stat = prog.stat()
    done = duck("largest.py", "--expect", "9", "--max-fixes", "1", cwd=prog.parent)
    assert done.returncode == 0, done.stderr
    # with --max-fixes 1 the first verified fix wins, and two correct ones race in parallel
    assert "-        if x < best:" in done.stdout
    assert any(f"+        if {fixed}:" in done.stdout for fixed in ("x > best", "not (x < best)", "x >= best")), done.stdout
    assert "why: The runs agree for" in done.stdout and "the output is the expected one" in done.stdout
    assert "nothing was written" in done.stdout
    assert prog.read_text() == BUGGY and prog.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in prog.parent.iterdir()) == ["largest.py"]


def test_json_output_parses_and_apply_writes_atomically_with_backups(write):
    prog = write("largest.py", BUGGY)
    done = duck("--json", "--apply", "--expect", "9", "--max-fixes", "1", "largest.py", cwd=prog.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failed"] and report["oracle"] == "expect"
    fix = report["fixes"][0]
    assert fix["verified"] and fix["origin"] == "edit" and fix["diff"].startswith("--- a/largest.py")
    assert report["backup"].endswith("largest.py.duck-backup")
    assert Path(report["backup"]).read_text() == BUGGY
    assert "if x > best:" in prog.read_text()
    assert [p.name for p in prog.parent.iterdir() if "duck-tmp" in p.name] == []
    # the fixed program now passes: nothing to fix, exit 0, no new backup
    again = duck("largest.py", "--expect", "9", cwd=prog.parent)
    assert again.returncode == 0 and again.stdout.startswith("nothing to fix")
    # a second apply keeps the first backup and writes a new one beside it
    prog.write_text(BUGGY)
    third = duck("largest.py", "--expect", "9", "--max-fixes", "1", "--apply", cwd=prog.parent)
    assert third.returncode == 0, third.stderr
    assert (prog.parent / "largest.py.duck-backup").read_text() == BUGGY
    assert (prog.parent / "largest.py.duck-backup.1").read_text() == BUGGY


def test_bad_input_gives_error_and_hint(write):
    prog = write("ok.py", "print('fine')\n")
    missing = duck("nope.py", cwd=prog.parent)
    assert missing.returncode == 2 and missing.stderr.startswith("error: nope.py: no such file")
    assert "hint:" in missing.stderr and "Traceback" not in missing.stderr
    broken = write("broken.py", "def f(:\n")
    syntax = duck("broken.py", cwd=prog.parent)
    assert syntax.returncode == 2 and "does not compile" in syntax.stderr


READS_STDIN = '''def sum_below(n):
    total = 0
    for i in range(1, n):
        total += i
    return total

n = int(input("n? "))
print(sum_below(n))
'''


def test_without_stdin_the_input_the_buggy_run_read_is_replayed_to_every_candidate(write):
    # every candidate would die of EOFError at input() if it did not get "5" again
    prog = write("sums.py", READS_STDIN)
    done = duck("sums.py", "--expect", "n? 15", "--max-fixes", "1", "--json", cwd=prog.parent, input="5\n")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "range(1, n + 1)" in report["fixes"][0]["patched_source"]
    empty = duck("sums.py", "--expect", "n? 15", "--max-candidates", "20", "--json", cwd=prog.parent)
    assert empty.returncode == 1 and "EOFError" in json.loads(empty.stdout)["verdict"]


def test_without_landlock_fix_still_runs_and_says_so_once(write, monkeypatch, capsys):
    from duck import cli
    from duck.sandbox import landlock

    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    prog = write("largest.py", BUGGY)
    monkeypatch.chdir(prog.parent)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert cli.main(["fix", "largest.py", "--expect", "9", "--max-fixes", "1"]) == 0
    out, err = capsys.readouterr()
    said = [line for line in (out + err).splitlines() if "cannot be confined here" in line]
    assert len(said) == 1 and said[0].startswith("note: ") and "Landlock" in said[0]
    assert ("1 verified fix(es)" in out or "the best 1 of" in out) and prog.read_text() == BUGGY


def test_at_a_terminal_the_confined_buggy_run_shows_its_prompt_and_reads_what_is_typed(write):
    import pty
    import select

    prog = write("sums.py", READS_STDIN)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: duck fix at a terminal
        os.chdir(prog.parent)
        os.environ["OMP_NUM_THREADS"] = "1"
        os.execv(sys.executable, [sys.executable, "-m", "duck", "fix", "sums.py", "--expect", "n? 15",
                                  "--max-fixes", "1"])
    seen, typed = b"", False
    while True:
        if not select.select([terminal], [], [], 300)[0]:
            break  # a safety net for a hung duck: the assertions below then fail
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the terminal closed: duck ended
            break
        if not chunk:
            break
        seen += chunk
        if not typed and b"n? " in seen:
            os.write(terminal, b"5\n")
            typed = True
    os.waitpid(pid, 0)
    text = seen.decode("utf-8", "replace")
    assert typed and "n? 5" in text and "\n10" in text.replace("\r", ""), text  # the prompt, the answer, its output
    assert "range(1, n + 1)" in text and "1 verified fix(es)" in text
