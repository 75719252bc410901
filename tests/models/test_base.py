"""Stop strings across streamed chunks."""

from hypothesis import given, strategies as st

from models.base import StopScanner, truncate_at_stop


def test_truncate_keeps_the_stop_string():
    assert truncate_at_stop("a [/ANSWER] b", ["[/ANSWER]"]) == ("a [/ANSWER]", True)
    assert truncate_at_stop("abc", ["[/ANSWER]"]) == ("abc", False)


def _feed(chunks, stop):
    scanner = StopScanner(stop)
    out = "".join(scanner.feed(c) for c in chunks)
    return out + scanner.flush(), scanner.stopped


def test_stop_split_across_chunks():
    assert _feed(["x == 2\n[/AN", "SWER]", " more"], ["[/ANSWER]"]) == ("x == 2\n[/ANSWER]", True)
    assert _feed(["[/AN", "other"], ["[/ANSWER]"]) == ("[/ANotherr"[:0] + "[/ANother", False)


@given(st.text(alphabet="ab[/]", max_size=30), st.lists(st.integers(1, 5), max_size=10))
def test_chunking_never_changes_the_text(text, cuts):
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(text[at:at + cut])
        at += cut
    chunks.append(text[at:])
    assert _feed(chunks, ["[/a]"])[0] == truncate_at_stop(text, ["[/a]"])[0]
