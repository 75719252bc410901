"""Pieces of the model-free narrator (``duck.narrate``): reading code, formatting, failure reasons.

Nothing here walks a whole trace; ``duck.narrate`` does, and is the public entry point.
"""
