"""The module the entry point names (``compress = "zoo_compress.plugin"``): records
only, no torch. The runners are imported when a method runs."""

from __future__ import annotations

from zoo.finetuning.params import defaults
from zoo.hookspecs import hookimpl
from zoo.records import Compressor, Recipe
from zoo_compress.specs import METHODS, RECIPE


@hookimpl
def zoo_compressors():
    return [
        Compressor(
            name=name,
            description=spec["description"],
            runner=spec["runner"],
            relation=spec["relation"],
            params=defaults(spec["schema"]),
        )
        for name, spec in METHODS.items()
    ]


@hookimpl
def zoo_recipes():
    return [
        Recipe(
            name=RECIPE["name"],
            description=RECIPE["description"],
            runner=RECIPE["runner"],
            params=defaults(RECIPE["schema"]),
        )
    ]
