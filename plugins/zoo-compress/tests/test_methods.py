"""The methods' building blocks on small real modules: the quantized state-dict
encoding, the chain search and cut of channel pruning, the rebuild from shapes, the
'same'-padding and BatchNorm rewrites, and the plugin contract."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from zoo.compression.runner import CompressContext, decode_state, encode_state  # noqa: E402
from zoo.errors import ZooCompressError  # noqa: E402


def test_plugin_contract():
    from zoo.testing import check_plugin

    check_plugin("compress")


def test_encode_state_round_trips_quantized_tensors():
    x = torch.randn(4, 6)
    per_tensor = torch.quantize_per_tensor(x, 0.05, 3, torch.quint8)
    per_channel = torch.quantize_per_channel(x, torch.rand(4) + 0.01, torch.zeros(4, dtype=torch.long), 0, torch.qint8)
    state = {"a": per_tensor, "b": (per_channel, None), "c": torch.float16, "d": torch.ones(2)}
    tensors, meta = encode_state(state)
    assert all(not t.is_quantized for t in tensors.values())
    back = decode_state(tensors, meta)
    assert torch.equal(back["a"].int_repr(), per_tensor.int_repr()) and back["a"].q_scale() == 0.05
    assert torch.equal(back["b"][0].dequantize(), per_channel.dequantize()) and back["b"][1] is None
    assert back["c"] is torch.float16 and torch.equal(back["d"], state["d"])


class Block(nn.Module):
    """An inverted residual block: expand -> depthwise -> project, with a residual."""

    def __init__(self, c: int = 8, e: int = 32) -> None:
        super().__init__()
        self.expand = nn.Conv2d(c, e, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(e)
        self.act = nn.ReLU6()
        self.dw = nn.Conv2d(e, e, 3, padding=1, groups=e, bias=False)
        self.bn2 = nn.BatchNorm2d(e)
        self.project = nn.Conv2d(e, c, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c)

    def forward(self, x):
        return x + self.bn3(self.project(self.act(self.bn2(self.dw(self.act(self.bn1(self.expand(x))))))))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Block()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.block(self.stem(x))), 1))


def test_prune_finds_the_expansion_and_leaves_residuals_alone():
    from zoo_compress.prune import PruneChannels, find_chains

    torch.manual_seed(0)
    net = Net().eval()
    chains, skipped = find_chains(net)
    assert [(c.producer, c.along, c.consumer) for c in chains] == [
        ("block.expand", ["block.bn1", "block.dw", "block.bn2"], "block.project")
    ]
    assert "used by 2 ops" in skipped["stem"] and "add" in skipped["block.project"]  # residual add
    pruned = copy.deepcopy(net)
    info = PruneChannels(ratio=0.5, round_to=1).prune(pruned)
    assert pruned.block.expand.out_channels == 16 and pruned.block.dw.groups == 16
    assert pruned.block.project.in_channels == 16 and info["channels_removed"] == 16
    x = torch.randn(2, 3, 8, 8)
    assert pruned(x).shape == net(x).shape
    # the kept channels are the ones with the largest L1 norm, and the computation on them is unchanged
    keep = torch.topk(net.block.expand.weight.abs().flatten(1).sum(1), 16).indices.sort().values
    torch.testing.assert_close(pruned.block.expand.weight, net.block.expand.weight[keep])

    # rebuild from the saved shapes, as zoo.get does
    state = {k: v.clone() for k, v in pruned.state_dict().items()}
    rebuilt = PruneChannels(ratio=0.5).load(state, {}, CompressContext("vision", build=lambda: Net().eval()))
    torch.testing.assert_close(rebuilt(x), pruned(x))


def test_prune_refuses_a_model_without_chains():
    from zoo_compress.prune import PruneChannels

    with pytest.raises(ZooCompressError, match="no chain"):
        PruneChannels(ratio=0.3).prune(nn.Sequential(nn.Linear(4, 4)))


def test_static_padding_and_plain_batchnorm_keep_the_function():
    timm = pytest.importorskip("timm")
    from zoo_compress import fx

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=3).eval()
    x = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        want = model(x)
        rewritten = fx.plain_batchnorm(fx.static_padding(copy.deepcopy(model), x))
        assert not rewritten.training and all(not m.training for m in rewritten.modules())
        assert not any(type(m).__name__ in ("Conv2dSame", "BatchNormAct2d") for m in rewritten.modules())
        torch.testing.assert_close(rewritten(x), want, rtol=1e-4, atol=1e-4)
