"""trainer: ``duck-train`` (corpus, SemCoder fine-tune, self-refine fine-tune, evaluation)."""
