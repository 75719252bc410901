"""The child interpreter's entry point: ``python .../duck/trace/_child.py CONFIG`` runs ``duck.trace.child``.

Started by ``duck.trace.runner`` by file path. An interpreter compiles the file it is started
with on every run (it caches no bytecode for it), so this file is only the few lines that must
run before duck can be imported; the recording child itself (``duck.trace.child``, ~600
lines) is imported, from its cached bytecode.
"""

import os
import sys

if __name__ == "__main__":
    _FRESH = frozenset(sys.modules)  # what a fresh interpreter loaded: the program must not see duck's others
    # Started by path, the interpreter put this file's folder first on sys.path. Put the
    # folder holding this copy of ``duck`` in that one slot instead, so the import below finds
    # it whether duck is installed, editable or a checkout; ``duck.trace.child._own_sys_path``
    # later gives the slot to the program. The rest of sys.path stays exactly as the interpreter made it.
    _DUCK_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if sys.flags.safe_path:  # python -P / PYTHONSAFEPATH: the interpreter added no folder
        sys.path.insert(0, _DUCK_ROOT)
    else:
        sys.path[0] = _DUCK_ROOT

    # array (the recorder's columns) registers its type with collections.abc.MutableSequence when
    # imported (importing "collections.abc" the way ``import collections.abc`` does: the package
    # too); _collections_abc, which the interpreter has loaded, holds that very class, so the
    # collections package (a tenth of the child's start-up) is not imported for it: stand-ins
    # for the two names while array loads, and then neither is left in sys.modules.
    if "collections" not in sys.modules and "collections.abc" not in sys.modules:
        import _collections_abc

        _package = type(sys)("collections")
        _package.abc = _collections_abc
        sys.modules["collections"], sys.modules["collections.abc"] = _package, _collections_abc
        try:
            import array  # noqa: F401
        finally:
            del sys.modules["collections"], sys.modules["collections.abc"], _package

    from duck.trace.child import main

    main(_FRESH)
