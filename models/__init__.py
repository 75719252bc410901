"""models: talking to a code model (prompt formats, answer parsing, backends, registry).

``models.prompts`` is stdlib only and shared by duck, the corpus and the trainer, so a model
trained here reads traces the way duck writes them. Backends that need torch live in their
own modules and are imported only when a backend is created.
"""
