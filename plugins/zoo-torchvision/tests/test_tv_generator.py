"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed torchvision (run the tool and commit its output when this fails)."""

from __future__ import annotations

from tv_helpers import load_generator

from zoo_torchvision import _catalogue


def test_committed_catalogue_is_current():
    generator = load_generator()
    expected = generator.render(generator.collect())
    assert generator.CATALOGUE.read_text() == expected, (
        "zoo_torchvision/_catalogue.py is stale: run plugins/zoo-torchvision/tools/generate_catalogue.py")


def test_catalogue_covers_every_torchvision_classification_weight():
    from torchvision import models

    upstream = {(fn, w.name.lower()) for fn in models.list_models(module=models)
                for w in models.get_model_weights(fn)}
    ours = {(w["sources"][0], w["tag"]) for w in _catalogue.WEIGHTS}
    assert len(_catalogue.WEIGHTS) == len(upstream)
    urls = {(w.url, w.name.lower()) for fn in models.list_models(module=models)
            for w in models.get_model_weights(fn)}
    assert ours == urls
