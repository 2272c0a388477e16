"""How artifacts/vision/tinynet/digits_v1.safetensors was made (the ACME artifact
store's content for the example): train TinyNet on scikit-learn's digits, print the
sha256, size and test accuracy that zoo_acme.plugin declares.

    python scripts/train_tinynet.py artifacts/vision/tinynet/digits_v1.safetensors
"""

from __future__ import annotations

import hashlib
import os
import sys

import torch
from safetensors.torch import save_file

from zoo_acme.data import digits_split
from zoo_acme.models import tinynet

torch.manual_seed(0)
out = sys.argv[1]
(x_train, y_train), (x_test, y_test) = digits_split()
model = tinynet()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for _epoch in range(60):
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 64):
        idx = perm[i : i + 64]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
model.eval()
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
data = open(out, "rb").read()
print(
    f"sha256={hashlib.sha256(data).hexdigest()} size={os.path.getsize(out)} "
    f"acc@1={100 * acc:.2f} params={sum(p.numel() for p in model.parameters())}"
)
