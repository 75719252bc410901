"""Training recipes: one module per recipe, each a visible ``SFTTrainer`` run."""
