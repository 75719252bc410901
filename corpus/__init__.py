"""corpus: builds PyX and PyX-R training data from seed code (seeds -> extract/synthesize ->
execute -> trace -> monologue -> refine -> dedup/decontaminate -> export shards)."""
