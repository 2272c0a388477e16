"""zoo's built-in fine-tuning recipes, a plugin like any team's (entry point ``recipes``
in group ``zoo``). ``plugin`` declares them (no torch); ``runners`` runs them."""

__version__ = "0.1.0"
