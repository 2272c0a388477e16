"""ACME's internal zoo plugin: the template a team copies to publish its own model
families, checkpoints (served from its own artifact store) and recipes.

Only ``zoo_acme.plugin`` is imported when zoo lists or syncs plugins; it must stay
cheap (no torch). The modules its records name by import string (``models``,
``store``, ``recipes``) are imported when a model is built, fetched or trained.
"""

__version__ = "0.1.0"
