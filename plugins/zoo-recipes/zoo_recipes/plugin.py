"""The module the entry point names (``recipes = "zoo_recipes.plugin"``): records
only, no torch. The runners are imported when a recipe runs."""

from __future__ import annotations

from zoo.finetuning.params import defaults
from zoo.hookspecs import hookimpl
from zoo.records import Recipe
from zoo_recipes.specs import RUNNERS, SPECS


@hookimpl
def zoo_recipes():
    return [
        Recipe(
            name=name,
            description=spec["description"],
            runner=f"{RUNNERS}:{spec['runner']}",
            params=defaults(spec["schema"]),
        )
        for name, spec in SPECS.items()
    ]
