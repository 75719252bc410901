"""Builds the recorder's optional C core (duck/trace/_speedups.c); everything else is in pyproject.toml.

``optional=True``: without a compiler the install still succeeds and duck uses the
pure-Python diff (duck.trace.localdiff) instead.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("duck.trace._speedups", ["duck/trace/_speedups.c"], optional=True)])
