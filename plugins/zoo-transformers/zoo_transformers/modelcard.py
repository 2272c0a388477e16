"""The Hugging Face model-card parser, now in the core (:mod:`zoo.cards`); this module
re-exports it so that existing imports keep working."""

from __future__ import annotations

from zoo.cards import (  # noqa: F401
    FIELD,
    ModelCard,
    license_from_hub_id,
    markdown_sections,
    normalise_tag,
    parse_model_card,
    read_model_card,
    section_kind,
    split_front_matter,
)

__all__ = [
    "ModelCard",
    "license_from_hub_id",
    "markdown_sections",
    "normalise_tag",
    "parse_model_card",
    "read_model_card",
    "section_kind",
    "split_front_matter",
]
