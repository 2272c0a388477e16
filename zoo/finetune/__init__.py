"""Deprecated: the fine-tuning package is :mod:`zoo.finetuning` (since the release after 0.1.0; see CHANGELOG.md).

``zoo.finetune`` is the function (``zoo.finetune(model, train, val, ...)``). This package
only keeps the old import paths working (``from zoo.finetune import Phase``,
``zoo.finetune.runner``, ...), each with a ``DeprecationWarning``; it hands out the very
objects of :mod:`zoo.finetuning`. It will be removed in a later release (:mod:`zoo._moved`).
"""

from zoo._moved import moved_package

moved_package(__name__, "zoo.finetuning", "finetune")
