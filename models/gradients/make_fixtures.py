"""Build the gradient-graph test fixtures: small torch models, their ONNX exports, and autograd
gradients d logit[class] / d activations for a few target layers each.

Run with Debian's python (torch 1.13, onnx 1.12):

    /usr/bin/python3 models/gradients/make_fixtures.py [out_dir]

Writes test/fixtures/gradients/<model>/ with model.onnx, input.npy and, per target,
<target>.json + <target>.logits.npy / .activations.npy / .gradients.npy (float32).

How a torch layer maps to an ONNX tensor name: torch 1.13 names every exported node after the
module scope that produced it, '/' + module path with '.' replaced by '/' + '/' + op type,
e.g. the ReLU module `layer2.relu2` becomes node `/layer2/relu2/Relu`, whose (single) output is
`/layer2/relu2/Relu_output_0`. Functional ops inside a module's forward would get the parent
scope (`/layer2/Add`), which is ambiguous, so every target here is its own small module (Add,
Cat, Scale below) and is captured with a forward hook. The script checks that the expected
node exists and has that output, and fails loudly otherwise. Note that in eval mode the exporter
folds a BatchNormalization that directly follows a Conv into the Conv, so a Conv-then-BN module
pair has no BN node; targets are therefore taken at ReLU/Add/Cat/... outputs, and BN appears
in the graph only where it does not follow a Conv (pre-activation, after Concat).
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Add(nn.Module):
    def forward(self, a, b):
        return a + b


class Cat(nn.Module):
    def forward(self, a, b):
        return torch.cat([a, b], dim=1)


class Scale(nn.Module):
    """x * s with s broadcast over H, W (squeeze-excite)."""

    def forward(self, x, s):
        return x * s


def randomize_bn(model):
    # Fresh BN layers are the identity; random stats make their backward non-trivial.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.data = torch.randn(c) * 0.2
            m.running_var.data = torch.rand(c) * 0.8 + 0.4
            m.weight.data = torch.rand(c) + 0.5
            m.bias.data = torch.randn(c) * 0.2


# --- ResNet-ish: Conv(+folded BN), ReLU, MaxPool(3,2,1), residual Add, 1x1 downsample, GAP, Linear.
class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.add = Add()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.down is None else self.down(x)
        return self.relu2(self.add(y, s))


class ResNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.gap(x), 1))


# --- VGG-ish: AvgPool (k2 and k3/s2/p1 without pad counting), view-flatten, Linear, Dropout. Batch 2.
class VGGish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.conv3 = nn.Conv2d(12, 12, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.AvgPool2d(3, 2, 1, count_include_pad=True)
        self.fc1 = nn.Linear(12 * 4 * 4, 24)
        self.relu4 = nn.ReLU()
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(24, 7)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.pool3(self.relu3(self.conv3(x)))
        x = x.view(x.size(0), -1)
        return self.fc2(self.drop(self.relu4(self.fc1(x))))


# --- MobileNet-ish: strided conv, ReLU6, depthwise + grouped conv, HardSwish, SE with ReduceMean,
# SiLU (Mul+Sigmoid), HardSigmoid, broadcast Mul, ReduceMean head.
class MobileNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = nn.ReLU6()
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.act2 = nn.Hardswish()
        self.se_reduce = nn.Conv2d(8, 4, 1)
        self.se_act = nn.SiLU()
        self.se_expand = nn.Conv2d(4, 8, 1)
        self.se_gate = nn.Hardsigmoid()
        self.scale = Scale()
        self.pw = nn.Conv2d(8, 16, 1, groups=2, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.act3 = nn.ReLU6()
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.dw(x)))
        s = x.mean((2, 3), keepdim=True)
        s = self.se_gate(self.se_expand(self.se_act(self.se_reduce(s))))
        x = self.scale(x, s)
        x = self.act3(self.bn3(self.pw(x)))
        return self.fc(x.mean((2, 3)))


# --- DenseNet-ish: pre-activation BN (kept in the graph), Concat, 1x1 transition, AvgPool(2,2), GAP.
class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)
        self.cat = Cat()

    def forward(self, x):
        return self.cat(x, self.conv(self.relu(self.bn(x))))


class DenseNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.dense1 = DenseLayer(8, 4)
        self.dense2 = DenseLayer(12, 4)
        self.bn_t = nn.BatchNorm2d(16)
        self.relu_t = nn.ReLU()
        self.conv_t = nn.Conv2d(16, 8, 1, bias=False)
        self.pool_t = nn.AvgPool2d(2, 2)
        self.dense3 = DenseLayer(8, 4)
        self.bn_f = nn.BatchNorm2d(12)
        self.relu_f = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.dense2(self.dense1(self.conv0(x)))
        x = self.pool_t(self.conv_t(self.relu_t(self.bn_t(x))))
        x = self.relu_f(self.bn_f(self.dense3(x)))
        return self.fc(torch.flatten(self.gap(x), 1))


# --- Misc: dilated conv on an odd size, strided conv needing output_padding, LeakyReLU,
# Sub/Div with broadcasting (and Div with the path in the denominator), Reshape, Transpose,
# MatMul, Unsqueeze, ReduceMean, Squeeze, MatMul + Add head.
class Misc(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=2, dilation=2)
        self.act1 = nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(6, 8, 4, stride=2, padding=1)
        self.act2 = nn.LeakyReLU(0.2)
        self.mu = nn.Parameter(torch.randn(1, 8, 1, 1) * 0.1)
        self.sigma = nn.Parameter(torch.rand(8, 1, 1) + 0.5)
        self.w1 = nn.Parameter(torch.randn(8, 12) * 0.3)
        self.w2 = nn.Parameter(torch.randn(12, 5) * 0.3)
        self.b2 = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = self.act2(self.conv2(self.act1(self.conv1(x))))
        x = (x - self.mu) / self.sigma
        x = x / (2.0 + torch.sigmoid(x))
        t = x.reshape(x.shape[0], 8, -1).transpose(1, 2)  # [N, HW, 8]
        t = torch.matmul(t, self.w1).unsqueeze(1)  # [N, 1, HW, 12]
        t = t.mean(dim=2).squeeze(1)  # [N, 12]
        return torch.matmul(t, self.w2) + self.b2


# --- Shape subgraphs and odd windows: exported with a symbolic batch and without constant folding,
# so x.view(x.size(0), -1) stays a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain; ceil_mode pools; Sub with the
# path in the subtrahend; MatMul with the path in the right operand; x * x (one tensor, two inputs).
class Square(nn.Module):
    def forward(self, x):
        return x * x


class Extras(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.act1 = nn.Sigmoid()
        self.pool1 = nn.MaxPool2d(3, 2, 0, ceil_mode=True)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.sq = Square()
        self.pool2 = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
        self.w = nn.Parameter(torch.randn(5, 6) * 0.3)
        self.fc = nn.Linear(5 * 16, 4)

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))  # 23 -> 12 -> 6 (ceil: last window overhangs)
        x = self.pool2(self.sq(1.0 - self.conv2(x)))  # 6 -> 4 (ceil, partial last window)
        t = torch.matmul(self.w, x.view(x.size(0), x.size(1), -1))  # [N, 5, HW]
        return self.fc(t.view(t.size(0), -1))


def _name(node_scope, op):
    return f"/{node_scope.replace('.', '/')}/{op}_output_0"


# model name -> (constructor, input shape, [(hook module, onnx op type)], class indices)
MODELS = {
    "resnetish": (ResNetish, (1, 3, 32, 32), [("layer2.relu2", "Relu"), ("layer2.add", "Add"), ("layer1.relu2", "Relu"), ("relu", "Relu")], [3]),
    "vggish": (VGGish, (2, 3, 32, 32), [("relu3", "Relu"), ("relu2", "Relu"), ("conv1", "Conv")], [1, 5]),
    "mobilenetish": (MobileNetish, (1, 3, 40, 40), [("act3", "Clip"), ("scale", "Mul"), ("act1", "Clip")], [2]),
    "densenetish": (DenseNetish, (1, 3, 32, 32), [("relu_f", "Relu"), ("dense3.cat", "Concat"), ("dense1.cat", "Concat")], [4]),
    "extras": (Extras, (1, 3, 23, 23), [("sq", "Mul"), ("act1", "Sigmoid")], [2]),
    "misc": (Misc, (1, 3, 33, 33), [("act2", "LeakyRelu"), ("act1", "LeakyRelu"), ("conv1", "Conv")], [0]),
}


def build(name, out_root):
    ctor, shape, targets, classes = MODELS[name]
    torch.manual_seed(1)
    model = ctor()
    randomize_bn(model)
    model.eval()
    x = torch.randn(*shape)
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(model, (x,), path, opset_version=17, input_names=["input"], output_names=["logits"],
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=name != "extras",
                      # A symbolic batch keeps torch's Shape -> Gather -> Unsqueeze -> Concat chains.
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if name == "extras" else None)
    graph = onnx.load(path).graph
    produced = {o: n for n in graph.node for o in n.output}
    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))

    modules = dict(model.named_modules())
    for scope, op in targets:
        tensor = _name(scope, op)
        node = produced.get(tensor)
        if node is None or node.op_type != op:
            raise SystemExit(f"{name}: no {op} node produces {tensor}; nodes: {[n.name for n in graph.node]}")
        captured = {}

        def hook(_m, _inp, output):
            output.retain_grad()
            captured["t"] = output

        handle = modules[scope].register_forward_hook(hook)
        xi = x.clone()
        logits = model(xi)
        handle.remove()
        cls = torch.tensor(classes[: shape[0]])
        model.zero_grad()
        # Samples are independent in eval mode, so the gradient of the sum of each sample's own
        # class logit is, per sample, d logit[n, class[n]] / d activations[n].
        logits.gather(1, cls[:, None]).sum().backward()
        act = captured["t"]
        stem = scope.replace(".", "_")
        files = {k: f"{stem}.{k}.npy" for k in ("logits", "activations", "gradients")}
        np.save(os.path.join(out, files["logits"]), logits.detach().numpy().astype(np.float32))
        np.save(os.path.join(out, files["activations"]), act.detach().numpy().astype(np.float32))
        np.save(os.path.join(out, files["gradients"]), act.grad.numpy().astype(np.float32))
        meta = {"target": tensor, "op": op, "module": scope, "classIndex": [int(c) for c in cls],
                "input": "input.npy", "activationsShape": list(act.shape), **files}
        with open(os.path.join(out, f"{stem}.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"{name}: {tensor} {list(act.shape)} max|grad|={act.grad.abs().max().item():.3g}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "test", "fixtures", "gradients")
    for name in MODELS:
        build(name, out_root)


if __name__ == "__main__":
    main()
