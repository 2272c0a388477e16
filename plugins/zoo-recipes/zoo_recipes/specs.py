"""The built-in recipes' names, descriptions and hyper-parameter schemas.

Plain Python (no torch): :mod:`zoo_recipes.plugin` declares the records from these,
:mod:`zoo_recipes.runners` validates with the same schemas, so a default can never
differ between what ``zoo recipes`` shows and what runs.
"""

from __future__ import annotations

from zoo.finetuning.params import COMMON, Param

RUNNERS = "zoo_recipes.runners"


def _common(**overrides) -> dict[str, Param]:
    schema = dict(COMMON)
    for name, default in overrides.items():
        p = schema[name]
        schema[name] = Param(p.kind, default, p.help, p.low, p.high, p.low_open, p.choices, p.optional)
    return schema


BACKBONE_LR_MULT = Param(
    "float", 0.1, "the backbone's learning rate as a fraction of lr (the head's)", low=0, low_open=True, high=10
)

SPECS: dict[str, dict] = {
    "linear-probe": dict(
        runner="LinearProbe",
        description=(
            "Train only a new head on the frozen backbone. When to use: little labelled data, a target close "
            "to the pretraining data, or a quick baseline. Prepares: every backbone parameter frozen, "
            "BatchNorm in eval; the frozen features are computed once and the head is trained on that cache "
            "(cache_features=true; no random augmentation on this path). Schedule: one phase, AdamW, cosine."
        ),
        schema=_common(epochs=30, batch_size=64, lr=3e-3, weight_decay=1e-4)
        | {
            "cache_features": Param("bool", True, "compute the frozen features once and train the head on them"),
        },
    ),
    "full": dict(
        runner="Full",
        description=(
            "Fine-tune every parameter, the pretrained backbone at a lower learning rate than the new head. "
            "When to use: enough labelled data, or a target unlike the pretraining data. Prepares: all "
            "trainable; groups: backbone at lr*backbone_lr_mult, head at lr. Schedule: one phase, AdamW, "
            "warm-up then cosine."
        ),
        schema=_common(epochs=5, batch_size=32, lr=1e-3, warmup_epochs=0.5)
        | {
            "backbone_lr_mult": BACKBONE_LR_MULT,
        },
    ),
    "freeze-stages": dict(
        runner="FreezeStages",
        description=(
            "Freeze the first N stages (stem first) and fine-tune the rest. When to use: early layers' "
            "generic features (edges, textures, token embeddings) transfer, later ones must adapt; saves "
            "memory and time. Prepares: the first frozen_stages units of the layer structure frozen, their "
            "BatchNorm statistics too; groups: the remaining backbone at lr*backbone_lr_mult, head at lr."
        ),
        schema=_common(epochs=5, batch_size=32, lr=1e-3, warmup_epochs=0.5)
        | {
            "frozen_stages": Param("int", 2, "how many units of the layer structure to freeze, from the input", low=0),
            "backbone_lr_mult": BACKBONE_LR_MULT,
        },
    ),
    "gradual-unfreeze": dict(
        runner="GradualUnfreeze",
        description=(
            "Start with the head only, then unfreeze one more stage from the top every unfreeze_every epochs "
            "(ULMFiT, Howard & Ruder 2018). When to use: small data where full fine-tuning forgets; "
            "stabilises the new head before the backbone moves. Prepares: groups per unit at "
            "lr*backbone_lr_mult, head at lr; frozen units keep their BatchNorm statistics."
        ),
        schema=_common(epochs=6, batch_size=32, lr=1e-3)
        | {
            "unfreeze_every": Param("int", 1, "epochs between two unfreezing steps", low=1),
            "backbone_lr_mult": BACKBONE_LR_MULT,
        },
    ),
    "llrd": dict(
        runner="LayerwiseLRDecay",
        description=(
            "Layer-wise learning-rate decay (ELECTRA, Clark et al. 2020; BEiT): the head at lr, the unit "
            "below at lr*layer_decay, the next at lr*layer_decay^2 ... down to the stem. When to use: deep "
            "transformers and large conv nets, whose lower layers need to move least. Prepares: one "
            "optimizer param group per unit with its own lr. Schedule: warm-up then cosine."
        ),
        schema=_common(epochs=5, batch_size=32, lr=1e-3, warmup_epochs=0.5)
        | {
            "layer_decay": Param(
                "float", 0.75, "lr factor from one unit to the one below it", low=0, low_open=True, high=1
            ),
        },
    ),
    "bitfit": dict(
        runner="BitFit",
        description=(
            "Train only the bias terms and the head (BitFit, Ben Zaken et al. 2022). When to use: many tasks "
            "on one backbone (each stores a few KB), small data. Prepares: weights frozen, every bias "
            "trainable at lr*bias_lr_mult; BatchNorm statistics kept."
        ),
        schema=_common(epochs=5, batch_size=32, lr=3e-3, weight_decay=0.0, freeze_bn_stats=True)
        | {
            "bias_lr_mult": Param("float", 1.0, "the biases' lr as a fraction of lr", low=0, low_open=True, high=100),
        },
    ),
    "lora": dict(
        runner="LoRA",
        description=(
            "Low-rank adapters (LoRA, Hu et al. 2021): W + (alpha/rank)*B@A on the chosen Linear / Conv "
            "modules, the pretrained weights frozen; merged into the weights on export, so the result loads "
            "as the plain architecture. When to use: parameter-efficient tuning of transformers (Linear) "
            "or conv nets (pointwise convs), many tasks on one backbone. targets='auto': every Linear of the "
            "backbone, else its 1x1 convs; or shell patterns of module names."
        ),
        schema=_common(epochs=5, batch_size=32, lr=1e-3, weight_decay=0.0, freeze_bn_stats=True)
        | {
            "rank": Param("int", 8, "rank of the adapters", low=1, high=1024),
            "alpha": Param("float", 16.0, "scale: the update is alpha/rank * B@A", low=0, low_open=True),
            "dropout": Param("float", 0.0, "dropout on the adapters' input (Linear)", low=0, high=0.9),
            "targets": Param(
                "strs", ["auto"], "module name patterns (fnmatch), e.g. '*.query,*.value'; 'auto' picks them"
            ),
        },
    ),
    "lp-ft": dict(
        runner="LinearProbeThenFinetune",
        description=(
            "Linear probe, then full fine-tuning from the probed head (LP-FT, Kumar et al. 2022). When to use: "
            "full fine-tuning is wanted but out-of-distribution accuracy matters: a good head first keeps "
            "the features from being distorted by a random head's gradients. "
            "Phase 1: probe_epochs on cached features at probe_lr; phase 2: every parameter, backbone at "
            "lr*backbone_lr_mult, head at lr, BatchNorm statistics kept (freeze_bn_stats) so that the probed "
            "head keeps seeing the features it was fitted to."
        ),
        schema=_common(epochs=6, batch_size=32, lr=1e-3, warmup_epochs=0.5, freeze_bn_stats=True)
        | {
            "probe_epochs": Param("int", 0, "epochs of the linear probe (0: half of epochs)", low=0),
            "probe_lr": Param("float", 1e-2, "learning rate of the probe", low=0, low_open=True, high=10),
            "backbone_lr_mult": BACKBONE_LR_MULT,
        },
    ),
    "l2-sp": dict(
        runner="L2SP",
        description=(
            "Full fine-tuning pulled toward the pretrained weights (L2-SP, Li et al. 2018): the loss gets "
            "alpha/2*|w-w0|^2 over the backbone and beta/2*|w|^2 over the head, instead of weight decay. "
            "When to use: small data where full fine-tuning drifts and forgets. Groups: backbone at "
            "lr*backbone_lr_mult, head at lr."
        ),
        schema=_common(epochs=5, batch_size=32, lr=1e-3, weight_decay=0.0, warmup_epochs=0.5)
        | {
            "alpha": Param("float", 0.01, "strength of the pull toward the pretrained weights", low=0),
            "beta": Param("float", 0.01, "L2 strength on the new head", low=0),
            "backbone_lr_mult": BACKBONE_LR_MULT,
        },
    ),
}
