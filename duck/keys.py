"""The user's own keys: the ``[keys]`` table of duck's config file, remapping bindings by id.

::

    [keys]
    step-next = "n,right,j"     # a binding id = the keys for it, comma separated
    quit = "ctrl+q"

Every binding of the TUI has an id (``DuckApp.BINDINGS``, the source view's, the screens'); the
help screen (``?``) lists them, and ``DuckApp`` hands this table to Textual's
``App.set_keymap``. The file is the one ``models.config.config_path`` finds (``DUCK_CONFIG``,
else ``config.toml``/``config.yaml`` in the user config folder), parsed by
``models.config.read_config_file``. This module reads only the ``[keys]`` table; the model
settings in the same file are ``models.config``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping

from duck.errors import DuckError


def load_keymap(known_ids: Callable[[], Iterable[str]], path: Path | None = None,
                env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``[keys]`` table (binding id -> keys); empty without a config file or a table.

    ``known_ids`` gives the ids a table may name (called only when there is a table); an
    unknown id, a value that is not a string of keys, or a file that cannot be read is a
    ``DuckError`` with a hint, raised before the UI starts.
    """
    from models.base import BackendError
    from models.config import config_path, read_config_file

    path = path or config_path(env)
    if path is None or not path.is_file():
        return {}
    try:
        data = read_config_file(path)
    except BackendError as error:
        raise DuckError(error.message, error.hint) from None
    table = data.get("keys") if isinstance(data, dict) else None
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise DuckError(f"keys in {path} should be a table of binding ids", 'write it as [keys] then step-next = "n,j"')
    known = set(known_ids())
    unknown = sorted(str(name) for name in table if name not in known)
    if unknown:
        raise DuckError(f"unknown key binding ids in [keys] of {path}: {', '.join(unknown)}",
                        f"the ids are listed in duck's help screen (?): {', '.join(sorted(known))}")
    bad = sorted(name for name, keys in table.items() if not isinstance(keys, str) or not keys.strip())
    if bad:
        raise DuckError(f"[keys] of {path}: {', '.join(bad)} should be keys as text",
                        'for example step-next = "n,right" (comma-separated Textual key names)')
    return {name: ",".join(key.strip() for key in keys.split(",")) for name, keys in table.items()}

