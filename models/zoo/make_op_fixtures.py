"""Small torch models that put every transformer backward rule's less common forms on the path
from a 4-D target to the logits (forms the tiny ViT / Swin of the zoo subset do not reach):
Split with an unused part, Gather with repeated indices, Slice with a negative step (flip),
Where with a constant mask, Expand, Pow with exponent 3, Sqrt, Neg, Softmax over a middle axis,
LayerNorm over the last two axes, exact GELU (Erf), 4-D batched MatMul with broadcasting.
Exported at opset 17 and 13 with torch autograd gradients for test/model-zoo.test.ts:

    /usr/bin/python3 models/zoo/make_op_fixtures.py     # -> test/fixtures/zoo-ops/<opset>/
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "zoo-ops")


class TokenOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)  # the target: [1, 8, 4, 4]
        self.norm2 = nn.LayerNorm([16, 8])
        self.key = nn.Parameter(torch.randn(1, 1, 4, 16) * 0.3)  # broadcast over the batch and heads
        self.head = nn.Linear(8 * 10, 5)
        self.register_buffer("mask", (torch.arange(16 * 8).reshape(1, 16, 8) % 3 == 0))

    def forward(self, x):
        a = self.conv(x)
        t = a.flatten(2).transpose(1, 2)                      # tokens [1, 16, 8]
        t = self.norm2(t)                                     # LayerNorm over (16, 8): axis -2
        t = torch.where(self.mask, t, -t * 0.5)               # Where, Neg
        t = F.gelu(t)                                         # Erf
        keep, _unused = torch.split(t, [12, 4], dim=1)        # Split, second part unused
        g = keep[:, [0, 2, 2, 5, 11, 3]]                      # Gather with repeated indices [1, 6, 8]
        g = torch.flip(g, dims=[2])                           # Slice with step -1
        g = torch.sqrt(g * g + 1.0) + 0.1 * g ** 3            # Sqrt, Pow 3
        h = g.reshape(1, 6, 2, 4).transpose(1, 2)             # [1, 2, 6, 4] heads
        s = torch.matmul(h, self.key)                         # [1, 2, 6, 16], key broadcast from [1, 1, 4, 16]
        s = torch.softmax(s, dim=2)                           # Softmax over a middle axis
        v = t[:, :, None, :].expand(1, 16, 2, 8)[:, :, 0, :]  # Expand (+ Gather of one index)
        o = torch.matmul(s, v.unsqueeze(1))                   # [1, 2, 6, 8] batched MatMul
        z = torch.cat([o.flatten(1, 2), g[:, :4]], dim=1)     # [1, 16, 8] -> Concat
        return self.head(z[:, :10].flatten(1))


def main():
    torch.manual_seed(3)
    model = TokenOps().eval()
    x = torch.randn(1, 3, 8, 8)
    captured = {}
    h = model.conv.register_forward_hook(lambda _m, _i, out: captured.setdefault("a", out))
    logits = model(x)
    h.remove()
    a = captured["a"]
    cls = int(logits.argmax(1)[0])
    (g,) = torch.autograd.grad(logits[0, cls], a)
    for opset in (17, 13):
        d = os.path.join(OUT, f"opset{opset}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True)
        import onnx
        nodes = onnx.load(path).graph.node
        target = next(n.output[0] for n in nodes if n.op_type == "Conv")
        np.save(os.path.join(d, "input.npy"), x.numpy())
        np.save(os.path.join(d, "logits.npy"), logits.detach().numpy())
        np.save(os.path.join(d, "activations.npy"), a.detach().numpy())
        np.save(os.path.join(d, "gradients.npy"), g.numpy())
        ops = sorted({n.op_type for n in nodes})
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump({"target": target, "classIndex": cls, "ops": ops}, f, indent=1)
        print(f"opset {opset}: target {target}, class {cls}, ops {ops}")


if __name__ == "__main__":
    main()
