"""The module the entry point names (``acme = "zoo_acme.plugin"``).

zoo imports it to list plugins and to sync the registry, so it must be cheap: records
only, no torch. Everything heavy is named by import string and imported when used.
"""

from __future__ import annotations

import json
import os

from zoo.hookspecs import hookimpl
from zoo.records import (
    CardSection,
    DatasetUse,
    Family,
    KeyAdapter,
    License,
    Metric,
    PolicyDecision,
    Recipe,
    Source,
    Weights,
    WeightStore,
)

DIGITS = "uci-digits"
DIGITS_URL = "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"


@hookimpl
def zoo_families():
    return [
        Family(
            name="acme-tinynet",
            modality="vision",
            builder="zoo_acme.models:tinynet",  # imported only when the family is built
            builder_kwargs={"width": 16},
            head="head",
            default_tag="digits_v1",
            preprocessing={
                "input_size": [1, 8, 8],
                "mean": [4.88],
                "std": [6.02],
                "note": "8x8 grey-scale, raw 0..16 intensities",
            },
            description="ACME's 5k-parameter CNN for 8x8 grey-scale images",
        ),
    ]


@hookimpl
def zoo_weights():
    return [
        Weights(
            arch="acme-tinynet",
            tag="digits_v1",
            sources=(Source("acme-artifacts://vision/tinynet/digits_v1.safetensors"),),
            sha256="e63b7630467b80d299a127e23dd4c707b37e412a1e7f986d093088ef19c9b6ba",
            size_bytes=20984,
            format="safetensors",
            license=License("LicenseRef-ACME-Internal", "allowed", note="ACME internal use"),
            publisher="ACME ML platform team",
            recipe="plugins/example-internal/scripts/train_tinynet.py (Adam 3e-3, 60 epochs, seed 0)",
            datasets=(DatasetUse(DIGITS, "pretrain", url=DIGITS_URL), DatasetUse(DIGITS, "eval", url=DIGITS_URL)),
            metrics=(Metric(DIGITS, "acc@1", 98.67, split="test"),),
            num_params=5130,
            num_classes=10,
            card=(
                CardSection(
                    "intended_use", "Classifying centred 8x8 grey-scale digits; a template for ACME's internal plugins."
                ),
                CardSection(
                    "limitations",
                    "Trained on 1,347 images at 8x8 pixels; it has not seen "
                    "other resolutions, colour, or non-digit input.",
                    severity="medium",
                ),
                CardSection(
                    "bias_risks",
                    "The digits were written by 43 people (UCI); handwriting "
                    "styles outside that group are not represented.",
                    references=("Alpaydin & Kaynak 1998, UCI Optical Recognition of Handwritten Digits",),
                    severity="low",
                ),
            ),
            tags=("digits", "example"),
        ),
    ]


@hookimpl
def zoo_key_adapters():
    # Checkpoints from ACME's old training code call the head "classifier".
    return [KeyAdapter(name="acme-tinynet-v0", function="zoo_acme.models:rename_v0_keys", arch="acme-tinynet")]


@hookimpl
def zoo_recipes():
    return [
        Recipe(
            name="acme-head-only",
            description="Freeze the backbone and train only the new "
            "head with SGD; for small labelled sets close to the pretraining data.",
            runner="zoo_acme.recipes:HeadOnly",
            params={"lr": 0.01, "epochs": 20, "batch_size": 64, "seed": 0},
        )
    ]


@hookimpl
def zoo_weight_stores():
    return [
        WeightStore(
            scheme="acme-artifacts",
            opener="zoo_acme.store:fetch",
            description="ACME's artifact share, mounted at $ACME_ARTIFACTS_DIR",
        )
    ]


@hookimpl
def zoo_policy_check(record, purpose):
    # Opt-in: with ACME_REQUIRE_COMMERCIAL=1, weights whose licence forbids commercial
    # use are refused. Without it the plugin has no opinion (None).
    if os.environ.get("ACME_REQUIRE_COMMERCIAL") != "1":
        return None
    if record.weights.license.commercial_use.value == "forbidden":
        return PolicyDecision("commercial-use", False, f"licence {record.weights.license.spdx} forbids commercial use")
    return PolicyDecision("commercial-use", True)


@hookimpl
def zoo_audit_event(event):
    # Opt-in: forward every committed registry change to a JSON-lines log
    # (at ACME this is the SIEM's intake).
    path = os.environ.get("ACME_AUDIT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(event.to_dict(), default=str) + "\n")
