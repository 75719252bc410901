"""``duck-train`` subcommands owned by the trainer: ``semcoder`` and ``refine``."""
