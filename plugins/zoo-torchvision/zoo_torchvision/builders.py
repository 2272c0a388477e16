"""Builders for the families whose torchvision builder cannot run on the meta device.

torchvision's ``regnet_*`` builders compute the per-stage widths with torch tensor maths
(``BlockParams.from_init_params``), which fails under ``torch.device("meta")`` — the
device zoo builds on before loading weights. The generator records the computed block
parameters as the family's builder kwargs; this builder only assembles the network.
"""

from __future__ import annotations

from typing import Any


def regnet(
    *,
    depths: list[int],
    widths: list[int],
    group_widths: list[int],
    bottleneck_multipliers: list[float],
    strides: list[int],
    se_ratio: float | None = None,
    **kwargs: Any,
):
    """``torchvision.models.RegNet`` from explicit block parameters (what torchvision's
    ``regnet_*`` builders construct; RegNet's default norm layer is the BatchNorm2d
    with eps 1e-5 and momentum 0.1 that they pass)."""
    from torchvision.models.regnet import BlockParams, RegNet

    params = BlockParams(
        list(depths), list(widths), list(group_widths), list(bottleneck_multipliers), list(strides), se_ratio
    )
    return RegNet(params, **kwargs)
