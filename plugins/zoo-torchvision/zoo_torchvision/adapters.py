"""State-dict key adapters for torchvision checkpoints.

GoogLeNet's and Inception v3's ImageNet checkpoints hold the auxiliary classifiers used
in training (``aux1.*``, ``aux2.*``, ``AuxLogits.*``). torchvision loads them into a model
built with ``aux_logits=True`` and then removes those heads; zoo builds the model
without them (``aux_logits=False``) and drops their keys, which gives the same network
and keeps the load strict for everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AUX_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")


def drop_aux_heads(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The state dict without the auxiliary classifiers' entries."""
    return {k: v for k, v in state_dict.items() if not k.startswith(AUX_PREFIXES)}
