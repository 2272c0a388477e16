"""zoo-transformers: text backbones for zoo, built with Hugging Face transformers.

Importing this package is cheap: no torch, no transformers. The plugin module
(:mod:`zoo_transformers.plugin`) declares families and weights as plain
:mod:`zoo.records`; :mod:`zoo_transformers.builders` imports transformers only when a
family is built.
"""

__version__ = "0.1.0"
