"""zoo-torchvision: torchvision's classification families and pretrained weights as a
zoo plugin. Importing this package (or its ``plugin`` module) does not import torch or
torchvision; the builders and key adapters named by import string do, when used."""

__version__ = "0.1.0"
