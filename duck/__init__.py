"""duck: a rubber-duck debugger for Python.

The package is the tool itself: the trace recorder (``duck.trace``), the headless session
over a recording (``duck.session``), the model-free narrator (``duck.narration``), verified
repair (``duck.repair``) and the Textual UI (``duck.app``). Importing ``duck`` imports
nothing heavy: no Textual, no torch.
"""

__version__ = "0.1.0"
