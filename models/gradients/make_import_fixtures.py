"""Fixtures for models from other exporters (issue 9): small torch models exported at ONNX opsets
7..17 (what torch 1.13 can emit), rewritten with the `onnx` package into the forms torch cannot
emit (opset 18-21 node forms, fused Mish/Gelu/HardSigmoid ops, Flatten at axis 2, Gemm without
bias and with transA, NHWC inputs, Paddle2ONNX-style names and symbolic dims), with torch
autograd gradients d score[class] / d activations as references.

Run with Debian's python (torch 1.13, onnx 1.12):

    /usr/bin/python3 models/gradients/make_import_fixtures.py [out_dir]

Writes test/fixtures/gradients/import/<case>/ with model.onnx, input.npy (in the model's own
layout) and per target <stem>.json + .logits/.activations/.gradients.npy, and the Paddle-style
case's sample image, model.json and torch tensors for the CLI test (test/cli-import.test.ts).

The rewrites keep the function of the graph (they respell nodes), so torch's gradients of the
original module remain the reference; the tests run the rewritten graphs in ONNX Runtime.
"""
import io
import json
import os
import sys

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "gradients", "import")


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.data = torch.randn(c) * 0.2
            m.running_var.data = torch.rand(c) * 0.8 + 0.4
            m.weight.data = torch.rand(c) + 0.5
            m.bias.data = torch.randn(c) * 0.2


class Scale(nn.Module):
    def forward(self, x, s):
        return x * s


class SumMix(nn.Module):
    """x + 0.1 * sum over channels (ReduceSum; axes an attribute before opset 13)."""

    def forward(self, x):
        return x + 0.1 * x.sum(dim=1, keepdim=True)


class Crop(nn.Module):
    """Drop the first row and column (Slice: attributes before opset 10, inputs from then on)."""

    def forward(self, x):
        return x[:, :, 1:, 1:]


class SqueezeBack(nn.Module):
    def forward(self, x):
        return x.unsqueeze(2).squeeze(2)


class Mean(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class SE(nn.Module):
    def __init__(self, c, r, gate):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(c, r, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(r, c, 1)
        self.gate = gate
        self.scale = Scale()

    def forward(self, x):
        return self.scale(x, self.gate(self.expand(self.act(self.reduce(self.pool(x))))))


# --- Legacy: Slice (before the targets), PRelu, BatchNormalization (not after a conv: kept), constant Pad, ReLU6 (Clip), nearest Upsample x2, strided conv, Elu, SE with
# Sigmoid, ReduceSum, Unsqueeze/Squeeze, ReduceMean, Gemm, Softmax head.
class Legacy(nn.Module):
    def __init__(self):
        super().__init__()
        self.crop = Crop()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.prelu = nn.PReLU(6)
        self.bn = nn.BatchNorm2d(6)
        self.pad = nn.ZeroPad2d(1)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.relu6 = nn.ReLU6()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv3 = nn.Conv2d(8, 8, 3, 2, 1)
        self.elu = nn.ELU(0.7)
        self.se = SE(8, 4, nn.Sigmoid())
        self.mix = SumMix()
        self.sq = SqueezeBack()
        self.mean = Mean()
        self.fc = nn.Linear(8, 5)
        self.head = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.relu6(self.conv2(self.pad(self.bn(self.prelu(self.conv1(self.crop(x)))))))
        x = self.elu(self.conv3(self.up(x)))
        x = self.sq(self.mix(self.se(x)))
        return self.head(self.fc(self.mean(x)))


class Swap(nn.Module):
    """Split into halves and swap them (Split; 'split' an attribute before opset 13, num_outputs at 18)."""

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return torch.cat([b, a], dim=1)


class Shuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class MatMulHead(nn.Module):
    def __init__(self, cin, k):
        super().__init__()
        self.w = nn.Parameter(torch.randn(cin, k) * 0.4)
        self.b = nn.Parameter(torch.randn(k) * 0.1)

    def forward(self, x):
        return torch.matmul(x, self.w) + self.b


# --- Smooth: Softplus, Split/Concat (before the targets), grouped conv, Tanh, Erf-GELU,
# depthwise conv, Mish, channel shuffle, Selu, HardSwish, MatMul+Add head, LogSoftmax head.
class Smooth(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.softplus = nn.Softplus()
        self.swap = Swap()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.tanh = nn.Tanh()
        self.gelu = nn.GELU()
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.mish = nn.Mish()
        self.shuffle = Shuffle(2)
        self.conv4 = nn.Conv2d(8, 12, 1)
        self.selu = nn.SELU()
        self.hsw = nn.Hardswish()
        self.mean = Mean()
        self.fc = MatMulHead(12, 6)
        self.head = nn.LogSoftmax(dim=1)

    def forward(self, x):
        x = self.swap(self.softplus(self.conv1(x)))
        x = self.gelu(self.tanh(self.conv2(x)))
        x = self.shuffle(self.mish(self.conv3(x)))
        x = self.hsw(self.selu(self.conv4(x)))
        return self.head(self.fc(self.mean(x)))


# --- Heads: Flatten at axis 2 (rewritten from a Reshape), Gemm without bias and with transA
# (rewritten from MatMul), Sigmoid head (multi-label).
class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act1 = nn.ELU()
        self.conv2 = nn.Conv2d(6, 4, 3, 2, 1)
        self.act2 = nn.Tanh()
        self.wv = nn.Parameter(torch.randn(16, 1) * 0.4)  # over the 4x4 pixels
        self.wfc = nn.Parameter(torch.randn(3, 4) * 0.5)  # Gemm weight [K, C]
        self.head = nn.Sigmoid()

    def forward(self, x):
        x = self.act2(self.conv2(self.act1(self.conv1(x))))  # [1, 4, 4, 4]
        t = x.reshape(4, 16)  # -> Flatten(axis=2) of [1, 4, 4, 4]
        t = torch.matmul(t, self.wv)  # [4, 1]
        t = t.reshape(1, 4)
        t = torch.matmul(t, self.wfc.t())  # -> Gemm(t, wfc, transB=1), no bias
        return self.head(t)


# --- NHWC (tf2onnx/Keras style): input [N, H, W, 3], Transposes, ReduceMean over H, W of an NHWC
# map, MatMul+Add, Softmax; three outputs: a 4-D map first, the probabilities, an embedding.
class Nhwc(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, 2, 1)
        self.act2 = nn.ReLU()
        self.fc = MatMulHead(8, 4)
        self.head = nn.Softmax(dim=1)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        f = self.act2(self.conv2(self.act1(self.conv1(x))))
        e = f.permute(0, 2, 3, 1).mean(dim=(1, 2))
        return f, self.head(self.fc(e)), e


# --- Paddle-style MobileNetV3: hardswish as Paddle2ONNX spells it before opset 14
# (Add, Clip, Mul, Div), SE with HardSigmoid(0.2, 0.5), depthwise convs, Flatten, MatMul+Add,
# Softmax; dynamic batch/H/W named p2o.DynamicDimension.k; Paddle-like tensor names.
class PaddleHardSwish(nn.Module):
    def forward(self, x):
        return x * F.relu6(x + 3.0) / 6.0


class PaddleHardSigmoid(nn.Module):
    def forward(self, x):
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class ConvBn(nn.Module):
    def __init__(self, cin, cout, k, s, groups=1, act=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x


class PaddleMobileNetV3(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBn(3, 8, 3, 2, act=PaddleHardSwish())
        self.dw1 = ConvBn(8, 8, 3, 1, groups=8, act=nn.ReLU())
        self.se1 = SE(8, 4, PaddleHardSigmoid())
        self.pw1 = ConvBn(8, 16, 1, 1)
        self.exp2 = ConvBn(16, 32, 1, 1, act=PaddleHardSwish())
        self.dw2 = ConvBn(32, 32, 3, 2, groups=32, act=PaddleHardSwish())
        self.se2 = SE(32, 8, PaddleHardSigmoid())
        self.pw2 = ConvBn(32, 16, 1, 1)
        self.last = ConvBn(16, 32, 1, 1, act=PaddleHardSwish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = MatMulHead(32, 2)
        self.head = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.pw1(self.se1(self.dw1(self.stem(x))))
        x = self.pw2(self.se2(self.dw2(self.exp2(x))))
        x = self.last(x)
        return self.head(self.fc(torch.flatten(self.pool(x), 1)))


class Sum3(nn.Module):
    def forward(self, a, b, c):
        return a + b + c


class Mean2(nn.Module):
    def forward(self, a, b):
        return (a + b) / 2


class Softsign(nn.Module):
    def forward(self, x):
        return x / (1 + x.abs())


class Cube(nn.Module):
    def forward(self, x):
        return torch.pow(x, 3.0)


class Smoothstep(nn.Module):
    """sqrt(b^2 + 1), its reciprocal, negated, plus exp(b / 2)."""

    def forward(self, b):
        return torch.neg(torch.reciprocal(torch.sqrt(b * b + 1))) + torch.exp(0.5 * b)


# --- Elementwise: Celu, Softsign, Sqrt, Reciprocal, Neg, Exp, Pow, Max, Min (path in both
# operands), Sum of three, Mean of two, Cast to float; Softsign/Sum/Mean fused from torch's
# spelling, the Cast inserted.
class Elementwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.celu = nn.CELU(0.8)
        self.softsign = Softsign()
        self.smooth = Smoothstep()
        self.cube = Cube()
        self.sum3 = Sum3()
        self.mean2 = Mean2()
        self.conv2 = nn.Conv2d(6, 8, 3, 2, 1)
        self.act = nn.ReLU()
        self.mean = Mean()
        self.fc = nn.Linear(8, 4)
        self.head = nn.Identity()

    def forward(self, x):
        a = self.celu(self.conv1(x))
        b = self.softsign(a)
        f = self.cube(self.smooth(b))
        g = torch.maximum(f, b)
        h = torch.minimum(g, a)
        m = self.mean2(self.sum3(h, a, b), g)
        return self.head(self.fc(self.mean(self.act(self.conv2(m)))))


class GlobalMaxGate(nn.Module):
    """x * sigmoid(global max of x): a max-pooled squeeze-excite gate (GlobalMaxPool)."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.scale = Scale()

    def forward(self, x):
        return self.scale(x, torch.sigmoid(self.pool(x)))


class AMax(nn.Module):
    def forward(self, x):
        return x.amax(dim=(2, 3))


# --- Maxima: GlobalMaxPool (an SE-like gate), ReduceMax over H, W as the pooling (Keras
# GlobalMaxPooling2D), Gemm.
class Maxima(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act1 = nn.Tanh()
        self.gate = GlobalMaxGate()
        self.conv2 = nn.Conv2d(6, 8, 3, 2, 1)
        self.act2 = nn.Softplus()
        self.pool = AMax()
        self.fc = nn.Linear(8, 3)
        self.head = nn.Identity()

    def forward(self, x):
        x = self.gate(self.act1(self.conv1(x)))
        return self.head(self.fc(self.pool(self.act2(self.conv2(x)))))


# --- ONNX rewrites -----------------------------------------------------------------------------

def export(model, x, opset, dynamic=None, fold=True, outputs=("logits",)):
    f = io.BytesIO()
    torch.onnx.export(model, (x,), f, opset_version=opset, input_names=["input"], output_names=list(outputs),
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=fold, dynamic_axes=dynamic)
    return onnx.load_from_string(f.getvalue())


def set_opset(m, version):
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = version


def const_value(m, name):
    for t in m.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in m.graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    return None


def add_init(m, name, array):
    m.graph.initializer.append(numpy_helper.from_array(np.asarray(array), name))
    return name


def upsample_scales_to_attr(m):
    """Upsample-9 (scales input) -> Upsample-7 (scales attribute)."""
    for n in m.graph.node:
        if n.op_type == "Upsample":
            scales = const_value(m, n.input[1])
            del n.input[1]
            n.attribute.append(helper.make_attribute("scales", [float(s) for s in scales]))


def reduce_axes_to_input(m):
    """Opset 18: Reduce* (other than ReduceSum) take axes as input 1."""
    for n in m.graph.node:
        if n.op_type.startswith("Reduce") and n.op_type != "ReduceSum":
            axes = [a for a in n.attribute if a.name == "axes"]
            if axes:
                n.input.append(add_init(m, f"{n.name}_axes", np.array(list(axes[0].ints), np.int64)))
                n.attribute.remove(axes[0])


def split_num_outputs(m):
    """Opset 18: Split into equal parts by num_outputs instead of a split input."""
    for n in m.graph.node:
        if n.op_type == "Split" and len(n.input) > 1:
            del n.input[1]
            n.attribute.append(helper.make_attribute("num_outputs", len(n.output)))


def fuse_scope(m, scope, op_type, **attrs):
    """Replace every node of a module scope ('/gelu/...') by one node of `op_type` on the scope's
    non-constant inputs (in order of use)."""
    nodes = [n for n in m.graph.node if n.name.startswith(f"/{scope}/")]
    inside = {o for n in nodes for o in n.output}
    ins = []
    for n in nodes:
        for i in n.input:
            if i and i not in inside and const_value(m, i) is None and i not in ins:
                ins.append(i)
    used_outside = {i for n in m.graph.node if n not in nodes for i in n.input} | {o.name for o in m.graph.output}
    out = [o for n in nodes for o in n.output if o in used_outside]
    assert len(out) == 1, (scope, out)
    idx = list(m.graph.node).index(nodes[0])
    for n in nodes:
        m.graph.node.remove(n)
    m.graph.node.insert(idx, helper.make_node(op_type, ins, out, name=f"/{scope}/{op_type}", **attrs))
    return out[0]


def make_dims_symbolic(m, names):
    """Set the image input's and outputs' dims to symbolic names where `names` gives one."""
    for v in list(m.graph.input[:1]) + list(m.graph.output):
        for i, d in enumerate(v.type.tensor_type.shape.dim):
            if (v.name, i) in names:
                d.ClearField("dim_value")
                d.dim_param = names[(v.name, i)]


def scope_output(m, scope):
    """The tensor a module scope hands on: the output of the scope's last node used outside it."""
    nodes = [n for n in m.graph.node if n.name.startswith(f"/{scope.replace('.', '/')}/")]
    if not nodes:
        raise SystemExit(f"no nodes in scope {scope}: {[n.name for n in m.graph.node]}")
    inside = {n.name for n in nodes}
    used_outside = {i for n in m.graph.node if n.name not in inside for i in n.input} | {o.name for o in m.graph.output}
    outs = [o for n in nodes for o in n.output if o in used_outside]
    return outs[-1]


# --- references ---------------------------------------------------------------------------------

def references(model, x, scope, cls, explain, head_index=None):
    """Activations of module `scope`, the logits (input of model.head) and d score / d activations."""
    modules = dict(model.named_modules())
    captured = {}

    def keep(key):
        def hook(_m, inp, out):
            if key == "act":
                out.retain_grad()
                captured[key] = out
            else:
                captured[key] = inp[0]
        return hook

    h1 = modules[scope].register_forward_hook(keep("act"))
    h2 = model.head.register_forward_hook(keep("logits"))
    out = model(x.clone())
    h1.remove()
    h2.remove()
    probs = out[head_index] if head_index is not None else out
    logits = captured["logits"]
    if isinstance(model.head, nn.Identity):
        probs = torch.softmax(logits, dim=1)  # no head: the probability is softmax of the logits
    model.zero_grad()
    (logits if explain == "logits" else probs)[0, cls].backward()
    act = captured["act"]
    return logits.detach().numpy(), act.detach().numpy(), act.grad.numpy()


def save_case(name, m, x_saved, targets, notes):
    out = os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    onnx.save(m, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "input.npy"), x_saved.astype(np.float32))
    for t in targets:
        stem = t.pop("stem")
        files = {k: f"{stem}.{k}.npy" for k in ("logits", "activations", "gradients")}
        for k in files:
            np.save(os.path.join(out, files[k]), t.pop(k).astype(np.float32))
        meta = {**t, **files, "input": "input.npy", "notes": notes}
        with open(os.path.join(out, f"{stem}.json"), "w") as f:
            json.dump(meta, f, indent=1)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{name}: opset {m.opset_import[0].version}, {len(m.graph.node)} nodes, {len(targets)} targets, {size / 1024:.1f} KiB")


def case(name, model, x, m, scopes, cls, explain="logits", options=None, layout="nchw", notes="", head_index=None, x_saved=None):
    targets = []
    for scope in scopes:
        logits, act, grad = references(model, x, scope, cls, explain, head_index)
        targets.append({
            "stem": scope.replace(".", "_"), "target": scope_output(m, scope), "module": scope, "classIndex": [cls],
            "explain": explain, "options": options or {}, "inputLayout": layout, "activationsShape": list(act.shape),
            "logits": logits, "activations": act, "gradients": grad,
        })
    save_case(name, m, (x_saved if x_saved is not None else x).numpy(), targets, notes)


def main():
    os.makedirs(OUT, exist_ok=True)

    # Legacy at opsets 7, 9, 11 (dynamic batch), 13 (dynamic H/W), 17, and 18 / 21 rewrites.
    torch.manual_seed(2)
    legacy = Legacy()
    randomize_bn(legacy)
    legacy.eval()
    x = torch.randn(1, 3, 12, 12)
    scopes = ["elu", "relu6", "prelu"]
    m = export(legacy, x, 9)
    upsample_scales_to_attr(m)
    set_opset(m, 7)
    case("legacy-opset7", legacy, x, m, scopes, 2, notes="torch opset-9 export respelled as opset 7 (Upsample-7 scales attribute); Pad/Clip/ReduceSum/Squeeze attributes")
    case("legacy-opset9", legacy, x, export(legacy, x, 9), scopes, 2, explain="probability", notes="Upsample-9; probability of the Softmax head")
    case("legacy-opset10", legacy, x, export(legacy, x, 10), ["relu6"], 2, notes="Resize-10 (scales input, asymmetric nearest)")
    case("legacy-opset11", legacy, x, export(legacy, x, 11, dynamic={"input": {0: "N"}, "logits": {0: "N"}}), scopes, 2, notes="dynamic batch; Resize-11; Pad/Clip inputs")
    dyn = {"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}
    case("legacy-opset13", legacy, x, export(legacy, x, 13, dynamic=dyn, fold=False), scopes, 2,
         options={"inputSize": [12, 12]}, notes="dynamic batch/H/W, no constant folding (Shape/ConstantOfShape subgraphs); Squeeze/ReduceSum axes inputs")
    case("legacy-opset17", legacy, x, export(legacy, x, 17), scopes, 2, explain="probability", notes="probability of the Softmax head")
    for version in (18, 21):
        m = export(legacy, x, 17)
        reduce_axes_to_input(m)
        set_opset(m, version)
        case(f"legacy-opset{version}", legacy, x, m, scopes, 2, notes=f"opset-17 export respelled as {version} (ReduceMean axes input)")

    # Smooth at opsets 9, 13, 17, and 18 (Mish op, Split num_outputs, ReduceMean axes input), 20 (Gelu op).
    torch.manual_seed(3)
    smooth = Smooth().eval()
    x = torch.randn(1, 3, 10, 10)
    scopes = ["hsw", "mish", "tanh"]
    for version in (9, 13, 17):
        case(f"smooth-opset{version}", smooth, x, export(smooth, x, version), scopes, 4, explain="probability" if version == 13 else "logits",
             notes="LogSoftmax head" + (", probability" if version == 13 else ""))
    m = export(smooth, x, 17)
    reduce_axes_to_input(m)
    split_num_outputs(m)
    fuse_scope(m, "mish", "Mish")
    set_opset(m, 18)
    case("smooth-opset18", smooth, x, m, ["hsw", "gelu", "tanh"], 4, notes="Mish op, Split num_outputs, ReduceMean axes input")
    m = export(smooth, x, 17)
    reduce_axes_to_input(m)
    split_num_outputs(m)
    fuse_scope(m, "mish", "Mish")
    fuse_scope(m, "gelu", "Gelu")
    set_opset(m, 20)
    case("smooth-opset20", smooth, x, m, ["hsw", "tanh"], 4, notes="Gelu and Mish ops")

    # Heads: Flatten(axis=2), Gemm without bias (transB) and with transA, Sigmoid head.
    torch.manual_seed(4)
    heads = Heads().eval()
    x = torch.randn(1, 3, 8, 8)
    m = export(heads, x, 13)
    g = m.graph
    reshapes = [n for n in g.node if n.op_type == "Reshape"]
    first = reshapes[0]
    idx = list(g.node).index(first)
    g.node.remove(first)
    g.node.insert(idx, helper.make_node("Flatten", [first.input[0]], list(first.output), name="/flatten_axis2", axis=2))
    matmuls = [n for n in g.node if n.op_type == "MatMul"]
    # matmul(t, wv): Gemm(transpose(t), wv, transA=1); matmul(t, wfc^T): Gemm(t, wfc, transB=1), no C.
    mm1, mm2 = matmuls
    idx = list(g.node).index(mm1)
    g.node.remove(mm1)
    g.node.insert(idx, helper.make_node("Transpose", [mm1.input[0]], ["/t_transposed"], name="/transpose_for_gemm", perm=[1, 0]))
    g.node.insert(idx + 1, helper.make_node("Gemm", ["/t_transposed", mm1.input[1]], list(mm1.output), name="/gemm_transA", transA=1))
    idx = list(g.node).index(mm2)
    g.node.remove(mm2)
    add_init(m, "wfc", heads.wfc.detach().numpy())
    g.node.insert(idx, helper.make_node("Gemm", [mm2.input[0], "wfc"], list(mm2.output), name="/gemm_transB", transB=1))
    case("heads-opset13", heads, x, m, ["act2", "act1"], 1, notes="Flatten axis 2, Gemm transA, Gemm transB without bias, Sigmoid head")
    case("heads-sigmoid-probability", heads, x, m, ["act2"], 1, explain="probability", notes="probability of a Sigmoid head")

    # Elementwise ops at opset 13, Softsign/Sum/Mean fused, a Cast to float inserted after Mean.
    torch.manual_seed(7)
    elementwise = Elementwise().eval()
    x = torch.randn(1, 3, 8, 8)
    m = export(elementwise, x, 13)
    fuse_scope(m, "softsign", "Softsign")
    fuse_scope(m, "sum3", "Sum")
    mean_out = fuse_scope(m, "mean2", "Mean")
    cast_out = mean_out + "_cast"
    for n in m.graph.node:
        n.input[:] = [cast_out if i == mean_out else i for i in n.input]
    idx = next(k for k, n in enumerate(m.graph.node) if mean_out in n.output)
    m.graph.node.insert(idx + 1, helper.make_node("Cast", [mean_out], [cast_out], name="/cast_float", to=TensorProto.FLOAT))
    case("elementwise-opset13", elementwise, x, m, ["celu", "softsign", "cube"], 1, notes="Celu, Softsign, Sqrt, Reciprocal, Neg, Exp, Pow, Max, Min, Sum, Mean, Cast; no head")
    case("elementwise-probability", elementwise, x, m, ["celu"], 1, explain="probability", notes="no head: probability = softmax of the logits")

    # Maxima at opset 13 and 18 (ReduceMax axes input).
    torch.manual_seed(8)
    maxima = Maxima().eval()
    x = torch.randn(1, 3, 8, 8)
    m = export(maxima, x, 13)
    # torch spells AdaptiveMaxPool2d(1) as a MaxPool over the whole map: respelled GlobalMaxPool here.
    pool = next(n for n in m.graph.node if n.op_type == "MaxPool")
    idx = list(m.graph.node).index(pool)
    m.graph.node.remove(pool)
    m.graph.node.insert(idx, helper.make_node("GlobalMaxPool", [pool.input[0]], [pool.output[0]], name=pool.name))
    case("maxima-opset13", maxima, x, m, ["act2", "act1"], 2, notes="GlobalMaxPool gate, ReduceMax pooling")
    m = export(maxima, x, 13)
    reduce_axes_to_input(m)
    set_opset(m, 18)
    case("maxima-opset18", maxima, x, m, ["act1"], 2, notes="ReduceMax axes input; the gate a whole-map MaxPool as torch exports it")

    # NHWC input with dynamic batch, three outputs.
    torch.manual_seed(5)
    nhwc = Nhwc().eval()
    x = torch.randn(1, 10, 10, 3)
    m = export(nhwc, x, 13, dynamic={"input": {0: "unk__0"}, "features": {0: "unk__0"}, "probs": {0: "unk__0"}, "embedding": {0: "unk__0"}},
               outputs=("features", "probs", "embedding"))
    case("nhwc-opset13", nhwc, x, m, ["act2", "act1"], 3, layout="nhwc", head_index=1, notes="NHWC input (detected), outputs [features 4-D, probs, embedding]: probs is the first 2-D one")

    # Paddle-style MobileNetV3 (opset 11, symbolic batch/H/W, Paddle names), with a sample image.
    torch.manual_seed(6)
    paddle = PaddleMobileNetV3()
    randomize_bn(paddle)
    paddle.eval()
    h, w = 32, 96
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(6)
    rgb = np.stack([128 + 100 * np.sin(xx / 7.0 + c) * np.cos(yy / 5.0 - c) for c in range(3)], -1) + rng.normal(0, 12, (h, w, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    mean = std = 0.5
    x = torch.from_numpy(((rgb.astype(np.float64) / 255 - mean) / std).astype(np.float32).transpose(2, 0, 1)[None].copy())
    m = export(paddle, x, 11, dynamic={"input": {0: "b", 2: "h", 3: "w"}, "logits": {0: "b"}})
    for s in ("se1", "se2"):
        fuse_scope(m, f"{s}/gate", "HardSigmoid", alpha=0.2, beta=0.5)
    # Paddle-like names: input x, output softmax_0.tmp_0, tensors <op>_<k>.tmp_0, nodes p2o.<Op>.<k>.
    rename = {"input": "x", "logits": "softmax_0.tmp_0"}
    counters = {}
    targets_scope = ["last.act", "se2.scale", "dw1.act"]
    wanted = {scope_output(m, s): s for s in targets_scope}
    for n in m.graph.node:
        k = counters.get(n.op_type, 0)
        counters[n.op_type] = k + 1
        n.name = f"p2o.{n.op_type}.{k}"
        for i, o in enumerate(n.output):
            if o not in rename:
                rename[o] = f"{n.op_type.lower()}_{k}.tmp_{i}"
    for n in m.graph.node:
        n.input[:] = [rename.get(i, i) for i in n.input]
        n.output[:] = [rename.get(o, o) for o in n.output]
    for v in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        v.name = rename.get(v.name, v.name)
    make_dims_symbolic(m, {("x", 0): "p2o.DynamicDimension.0", ("x", 2): "p2o.DynamicDimension.1", ("x", 3): "p2o.DynamicDimension.2",
                           ("softmax_0.tmp_0", 0): "p2o.DynamicDimension.3"})
    del m.graph.value_info[:]
    out = os.path.join(OUT, "paddle-mobilenetv3")
    targets = []
    probs = paddle(x).detach().numpy()[0]
    cls = int(np.argmax(probs))
    for tensor, scope, explain in [(t, s, "logits") for t, s in wanted.items()] + [(t, s, "probability") for t, s in wanted.items() if s == "last.act"]:
        logits, act, grad = references(paddle, x, scope, cls, explain)
        stem = scope.replace(".", "_") + ("_probability" if explain == "probability" else "")
        targets.append({"stem": stem, "target": rename[tensor], "module": scope, "classIndex": [cls], "explain": explain,
                        "options": {"inputSize": [h, w]}, "inputLayout": "nchw", "activationsShape": list(act.shape),
                        "logits": logits, "activations": act, "gradients": grad})
    save_case("paddle-mobilenetv3", m, x.numpy(), targets, "Paddle2ONNX-style: opset 11, dims p2o.DynamicDimension.k, Softmax head, Add/Clip/Mul/Div hardswish, HardSigmoid(0.2,0.5) SE gates, depthwise convs")
    cv2.imwrite(os.path.join(out, "sample.png"), rgb[:, :, ::-1])
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"mean": [mean] * 3, "std": [std] * 3, "class_names": ["0", "180"]}, f, indent=1)
    print(f"paddle-mobilenetv3: top-1 class {cls}, p={probs.tolist()}")


if __name__ == "__main__":
    main()
