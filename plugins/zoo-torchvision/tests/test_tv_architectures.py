"""Every family builds as declared (without downloading anything), its head is where the
family says, and its parameters are exactly what the weights records count; the
RegNet builder and the auxiliary-head adapter reproduce torchvision's own networks."""

from __future__ import annotations

import pytest
import torch
from tv_helpers import build, final_layers, import_string, num_params, skeleton

from zoo_torchvision import adapters, plugin

FAMILIES = {f.name: f for f in plugin.zoo_families()}
AUX = {"googlenet", "inception_v3"}


def test_every_family_builds_as_its_weights_need():
    # one pass over all families (a skeleton build each: no memory, no initialisation)
    built = {name: build(family) for name, family in FAMILIES.items()}
    for name, model in built.items():
        # the head is the network's last layer with 1000 outputs
        assert final_layers(model, 1000)[-1:] == [FAMILIES[name].head], name
    aux_params = {name: num_params(build(FAMILIES[name], aux_logits=True)) for name in AUX}
    for record in plugin.zoo_weights():
        model = built[record.arch]
        count = num_params(model)
        # exactly the parameters torchvision counts for the weights (it counts Inception
        # v3's auxiliary head, but not GoogLeNet's)
        assert record.num_params in {count, aux_params.get(record.arch, count)}, (record.ref, count)
        if hasattr(model, "image_size"):  # ViT: built for the weights' input size
            assert model.image_size == record.preprocessing["crop_size"], record.ref
    assert FAMILIES["vit_h_14"].builder_kwargs == {"image_size": 518}


@pytest.mark.parametrize("name", sorted(n for n in FAMILIES if n.startswith("regnet_")))
def test_regnet_builder_reproduces_torchvision(name):
    with skeleton():
        upstream = import_string(f"torchvision.models:{name}")()
    ours = build(FAMILIES[name])
    assert repr(ours) == repr(upstream)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in upstream.state_dict().items()}


def test_regnet_builds_on_the_meta_device():
    # the device zoo builds on before loading weights; torchvision's builder fails there
    family = FAMILIES["regnet_y_400mf"]
    with torch.device("meta"):
        model = import_string(family.builder)(**family.builder_kwargs)
        out = model.eval()(torch.empty(1, 3, 224, 224))
    assert out.shape == (1, 1000) and out.is_meta


@pytest.mark.parametrize("name", sorted(AUX))
def test_aux_adapter_maps_torchvision_checkpoint_onto_the_family(name):
    family = FAMILIES[name]
    (adapter,) = [a for a in plugin.zoo_key_adapters() if a.arch == name]
    torch.manual_seed(0)
    # a checkpoint laid out like torchvision's pretrained build (with the auxiliary heads)
    upstream = import_string(f"torchvision.models:{name}")(
        aux_logits=True, transform_input=True, init_weights=False
    ).eval()
    state = upstream.state_dict()
    assert any(k.startswith(adapters.AUX_PREFIXES) for k in state)
    adapted = import_string(adapter.function)(state)
    model = build(family)
    model.load_state_dict(adapted, strict=True, assign=True)
    model.eval()
    x = torch.randn(1, 3, 96, 96)  # small but above both networks' minimum input size
    with torch.no_grad():
        # torchvision drops the aux heads after loading; the result is the same network
        upstream.aux_logits = False
        torch.testing.assert_close(model(x), upstream(x), rtol=0, atol=0)


def test_transform_input_matches_torchvision_pretrained_build():
    for name in AUX:
        assert FAMILIES[name].builder_kwargs["transform_input"] is True


def test_zoo_contract_on_a_sample_of_families():
    from zoo.testing import check_plugin

    # the families with something special (all of them build in the tests above)
    sample = ["googlenet", "inception_v3", "regnet_x_400mf", "squeezenet1_1", "mobilenet_v3_small", "vit_b_32"]
    result = check_plugin("torchvision", families=sample)
    assert result.ok and len(result.weights) == len(plugin.zoo_weights())
