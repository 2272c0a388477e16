"""Deprecated: the compression package is :mod:`zoo.compression` (since the release after 0.1.0; see CHANGELOG.md).

``zoo.compress`` is the function (``zoo.compress(model_or_name, method, ...)``). This
package only keeps the old import paths working (``from zoo.compress import
deployment``, ``zoo.compress.runner``, ...), each with a ``DeprecationWarning``; it hands
out the very objects of :mod:`zoo.compression`. It will be removed in a later release
(:mod:`zoo._moved`).
"""

from zoo._moved import moved_package

moved_package(__name__, "zoo.compression", "compress")
