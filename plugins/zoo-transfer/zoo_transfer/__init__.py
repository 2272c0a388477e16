"""zoo's built-in transferability scores and drift test (``zoo.rank``, ``zoo.advise``,
``zoo.drift``). The entry point names :mod:`zoo_transfer.plugin` (records only); the
functions live in :mod:`zoo_transfer.scores` and :mod:`zoo_transfer.drift`."""
