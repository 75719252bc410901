"""One module per ``duck`` subcommand: ``configure(parser)`` adds its flags, ``main(args)`` runs it.

Modules here import nothing heavy at module level (no Textual, no torch): ``duck --help``
imports all of them.
"""
