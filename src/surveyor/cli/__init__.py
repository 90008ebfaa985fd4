"""The `surveyor` command: parses arguments, calls the library, prints. Nothing below imports it.

May import: everything in surveyor. Each command module registers its commands on the one app.
"""
from surveyor.cli import ask, corpus, digest, evidence, grow, refs, serve, survey
from surveyor.cli.app import STATE, app, main

for _module in (corpus, grow, evidence, refs, ask, survey, digest, serve):
    _module.register(app, STATE)

__all__ = ["app", "main"]
