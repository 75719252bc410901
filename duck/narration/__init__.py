"""The model-free narrator: a truthful rubber-duck monologue built only from a recording.

It tells a run step by step ("line 7: `total += x` -> total goes from 3 to 7"), each call
with its arguments and its result, loops iteration by iteration, and the outcome with a
reason read off the recorded values ("raised IndexError at line 15 in average because
i == len(values) == 4"). The text follows SemCoder's "### Execution Simulation:" style, so
the corpus writes training monologues with the same code that ``duck run --plain`` and the
TUI use. Every sentence comes from the trace or the recorded source: the narrator never runs
code, never guesses a value, and has no model.

The public API is this package: ``Narrator`` (the default ``Explainer`` of
docs/architecture.md), ``render_run`` (the whole run, bounded, for ``--plain``),
``describe_step``, ``frame_title`` (how a pane names a frame, as the narration does), ``describe_outcome``, ``brief_outcome`` and ``outcome_tone`` (how a run
ended), ``execution_simulation`` (and ``refine_simulation``, its setting for a buggy run) and ``understanding_the_function`` (the corpus's monologue
sections). Inside: ``teller`` walks the recording, ``narrator`` chooses what to tell per
scope, ``outcome`` words how the run ended, ``simulation`` writes the corpus's section,
``code`` reads the recorded source, ``failure`` finds why a line raised, ``text`` holds the
small wording helpers.
"""

from duck.narration.code import understanding_the_function
from duck.narration.narrator import SCOPES, Narrator, describe_step, render_run
from duck.narration.outcome import brief_outcome, describe_outcome, outcome_tone
from duck.narration.simulation import execution_simulation, refine_simulation
from duck.narration.teller import frame_title, return_event

__all__ = [
    "SCOPES",
    "Narrator",
    "brief_outcome",
    "describe_outcome",
    "describe_step",
    "execution_simulation",
    "frame_title",
    "refine_simulation",
    "outcome_tone",
    "render_run",
    "return_event",
    "understanding_the_function",
]
