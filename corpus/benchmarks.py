"""Where duck keeps benchmark files, and putting them there.

The benchmark files (CRUXEval, HumanEval(+), MBPP(+)) live in the user's data folder
(``platformdirs``: e.g. ``~/.local/share/duck/benchmarks``; ``DUCK_DATA_DIR`` overrides it).
The corpus decontaminates against every file found there unless told otherwise, and
``duck-train eval`` reads its ``--data`` from there by default. ``duck-train data import --from
FILE`` copies a file in, recognising which benchmark it holds from its rows; ``duck-train data
fetch`` downloads them where there is a network: CRUXEval through ``datasets`` (the hub's
``cruxeval-org/cruxeval``), HumanEval+ and MBPP+ as EvalPlus's release files (the same URLs
``evalplus.data`` downloads; their mixed-type input lists do not fit a ``datasets`` table).
Either way the rows go through ``import_file``, so a fetched file and an imported one are the same.

This module only finds, fetches, recognises and copies files: it does not parse them for scoring
(``trainer.eval.data``) or decontaminate (``corpus.dedup``).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

from duck.errors import DuckError

DATA_ENV = "DUCK_DATA_DIR"
#: benchmark -> the file name it is kept under (the names the public releases use)
FILES = {
    "cruxeval": "cruxeval.jsonl",
    "humaneval": "HumanEvalPlus.jsonl.gz",
    "mbpp": "MbppPlus.jsonl.gz",
}


#: where ``fetch`` gets each benchmark: a ``datasets`` hub id (``hub:ID:SPLIT``) or a release file's URL
SOURCES = {
    "cruxeval": "hub:cruxeval-org/cruxeval:test",
    "humaneval": "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
    "mbpp": "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
}
FETCH_HINT = ("without a network, download the files elsewhere and import them: duck-train data import --from "
              "cruxeval.jsonl HumanEvalPlus.jsonl.gz MbppPlus.jsonl.gz")


def data_dir() -> Path:
    """The folder benchmark files are kept in (``$DUCK_DATA_DIR``, else the platform's user data folder)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("duck") / "benchmarks"


def found() -> dict[str, Path]:
    """The benchmark files present in the data folder, by benchmark."""
    folder = data_dir()
    return {name: folder / file for name, file in FILES.items() if (folder / file).is_file()}


def benchmark_file(name: str) -> Path:
    """The kept file of one benchmark, or an error that says how to get it there."""
    path = data_dir() / FILES[name]
    if not path.is_file():
        raise DuckError(f"no {name} benchmark file in {data_dir()}",
                        f"pass --data FILE, or import it once: duck-train data import --from {FILES[name]}")
    return path


def identify(path: Path) -> str:
    """Which benchmark a JSON Lines file (gzipped or not) holds, from its first row."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as stream:
            first = next((line for line in stream if line.strip()), "")
        row = json.loads(first) if first else {}
    except (OSError, ValueError, EOFError) as error:
        raise DuckError(f"cannot read {path}: {error}", "pass a benchmark's .jsonl or .jsonl.gz file") from None
    task_id = str(row.get("task_id", "")) if isinstance(row, dict) else ""
    if isinstance(row, dict) and {"code", "input", "output"} <= set(row):
        return "cruxeval"
    if task_id.startswith("HumanEval/"):
        return "humaneval"
    if task_id.startswith("Mbpp/"):
        return "mbpp"
    raise DuckError(f"{path} is not CRUXEval, HumanEval(+) or MBPP(+)",
                    "import cruxeval.jsonl, HumanEvalPlus.jsonl.gz or MbppPlus.jsonl.gz (as the public releases ship them)")


def import_file(source: Path) -> tuple[str, Path]:
    """Copy a benchmark file into the data folder under its benchmark's name; (benchmark, path)."""
    source = Path(source).expanduser()
    if not source.is_file():
        raise DuckError(f"{source} does not exist", "pass the downloaded benchmark file with --from FILE")
    name = identify(source)
    target = data_dir() / FILES[name]
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        compress = target.suffix == ".gz" and source.suffix != ".gz"
        decompress = target.suffix != ".gz" and source.suffix == ".gz"
        with (gzip.open(source, "rb") if decompress else open(source, "rb")) as reader, \
                (gzip.open(temporary, "wb") if compress else open(temporary, "wb")) as writer:
            shutil.copyfileobj(reader, writer)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return name, target


def fetch(name: str, source: str | None = None) -> Path:
    """Download benchmark ``name`` from ``source`` (default ``SOURCES[name]``: ``hub:ID:SPLIT``
    through ``datasets``, anything else a URL or path of a ``.jsonl[.gz]`` file) and import it;
    the kept file's path. A ``DuckError`` with the offline way when it cannot be fetched."""
    source = source or SOURCES[name]
    with tempfile.TemporaryDirectory(prefix="duck-fetch-") as scratch:
        if source.startswith("hub:"):
            _, hub_id, split = source.split(":", 2)
            downloaded = Path(scratch) / FILES[name].replace(".gz", "")
            try:
                import datasets
            except ImportError:
                raise DuckError("fetching CRUXEval needs the `datasets` package",
                                "pip install datasets, or " + FETCH_HINT) from None
            local = Path(hub_id).expanduser()
            try:
                rows = (datasets.load_dataset("json", data_files=str(local), split="train", cache_dir=scratch)
                        if local.is_file() else datasets.load_dataset(hub_id, split=split, cache_dir=scratch))
            except Exception as error:  # noqa: BLE001 - datasets raises many kinds for "no network"
                raise DuckError(f"cannot fetch {name} from {hub_id}: {type(error).__name__}: {error}"[:600],
                                FETCH_HINT) from None
            with open(downloaded, "w", encoding="utf-8") as stream:
                for row in rows:
                    stream.write(json.dumps(row) + "\n")
        else:
            import urllib.request

            downloaded = Path(scratch) / source.rsplit("/", 1)[-1]
            url = source if "://" in source else Path(source).expanduser().resolve().as_uri()
            try:
                with urllib.request.urlopen(url, timeout=60) as response, open(downloaded, "wb") as stream:
                    shutil.copyfileobj(response, stream)
            except (OSError, ValueError) as error:
                raise DuckError(f"cannot fetch {name} from {source}: {error}", FETCH_HINT) from None
        got, path = import_file(downloaded)
    if got != name:
        raise DuckError(f"{source} holds {got}, not {name}", "check the source of the benchmark")
    return path
