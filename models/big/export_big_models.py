"""Export full-size torchvision classifiers to ONNX together with torch-autograd reference
gradients, for scripts/verify-big-models.ts (the gradient-graph builder against torch on real
architectures rather than the small test fixtures).

Run with Debian's python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 models/big/export_big_models.py [out_dir] [--models resnet18,vgg16,...]

out_dir defaults to $WEBGPU_CAM_BIG or /tmp/webgpu-cam-big. It must be OUTSIDE the repository:
the models are 14 MB (mobilenet_v2) to 553 MB (vgg16) and are never committed.

Per model, writes <out_dir>/<model>/:
  model.onnx                           opset 17, static shape [1, 3, 224, 224], constant folding
  input.npy                            the input (a smooth random image, ImageNet-normalised)
  logits.npy                           torch's logits [1, 1000]
  <key>.activations.npy / .gradients.npy   per target: activations and d logit[class] / d activations
  <key>.gradients64.npy                the same gradient computed in float64 (the float32 noise floor)
and <out_dir>/manifest.json listing every model and target (ONNX tensor name, op, class index,
shapes, files, torch timing, torch32-vs-float64 gradient error, and the ReLU / ReLU6 elements
whose mask flips between the float32 and float64 forward passes: far from the logits these make
any float32 gradient, torch's included, differ from float64 well beyond 1e-5).

Weights are random (weights=None, no network) with a fixed seed. With torchvision's default BN
running stats (mean 0, var 1) the activations of deep random networks drift far from unit scale,
so the BatchNorm running statistics are re-estimated (cumulative average) on a few batches of
smooth random images before export; only the BN layers are put in train mode for that.

How a torch module maps to an ONNX tensor: torch 1.13 names each node after its module scope,
one path segment per level, e.g. the module `layer4.1.relu` becomes `/layer4/layer4.1/relu/Relu`
(a second call of the same module gets the suffix `_1`: `relu_1`; densenet's named children
are written without the dotted path: `/features/denseblock3/...`). The output of a module is
therefore the output of the last node (in the exported topological order) whose name starts
with its scope prefix, e.g. `layer4` ->
`/layer4/layer4.1/relu_1/Relu_output_0`. The script checks the op type and, with ONNX shape
inference, that the tensor's shape equals the hooked torch tensor's shape, and fails loudly
otherwise; the verifier also compares the activations themselves.
"""
import argparse
import json
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.set_num_threads(1)

SEED = 0
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# model -> [(key, torch module path, expected ONNX op)], deepest first. The key names the files.
# `layer4` is the usual CAM layer (last feature block, 7x7 at 224), `layer3` the last block one
# resolution stage earlier (14x14), `mid` a block at 28x28.
TARGETS = {
    "resnet18": [("layer4", "layer4", "Relu"), ("layer3", "layer3", "Relu"), ("mid", "layer2", "Relu")],
    "resnet50": [("layer4", "layer4", "Relu"), ("layer3", "layer3", "Relu"), ("mid", "layer2", "Relu")],
    # features: ... 28 conv5_3, 29 ReLU, 30 MaxPool; 22 = ReLU after conv4_3, 15 = ReLU after conv3_3.
    "vgg16": [("layer4", "features.29", "Relu"), ("layer3", "features.22", "Relu"), ("mid", "features.15", "Relu")],
    # 18 = final 1x1 Conv-BN-ReLU6 (1280x7x7), 13 = last 14x14 block (96 ch, residual Add),
    # 6 = last 28x28 block (32 ch, residual Add).
    "mobilenet_v2": [("layer4", "features.18", "Clip"), ("layer3", "features.13", "Add"), ("mid", "features.6", "Add")],
    # 8 = final 1x1 Conv-BN-SiLU (1280x7x7), 5 = last 14x14 stage (112 ch), 3 = 28x28 stage (40 ch).
    "efficientnet_b0": [("layer4", "features.8", "Mul"), ("layer3", "features.5", "Add"), ("mid", "features.3", "Add")],
    # DenseNet.forward applies F.relu after features.norm5 (top-level node '/Relu'): see FINAL_RELU.
    "densenet121": [("layer4", "<final relu>", "Relu"), ("layer3", "features.denseblock3", "Concat"),
                    ("mid", "features.denseblock2", "Concat")],
}
FINAL_RELU = "<final relu>"


def smooth_images(n, gen):
    """Deterministic smooth random RGB images in [0, 1], ImageNet-normalised: coarse uniform noise
    (8x8 and 28x28 octaves) upsampled bicubically to 224x224."""
    coarse = F.interpolate(torch.rand(n, 3, 8, 8, generator=gen), size=224, mode="bicubic", align_corners=False)
    fine = F.interpolate(torch.rand(n, 3, 28, 28, generator=gen), size=224, mode="bilinear", align_corners=False)
    img = (0.75 * coarse + 0.25 * fine).clamp(0, 1)
    return (img - MEAN) / STD


def no_inplace(model):
    # In-place ReLUs would rewrite a hooked tensor after the hook has seen it.
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False


def recalibrate_bn(model, gen, batches=4, batch_size=8):
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the calibration batches
        m.train()
    with torch.no_grad():
        for _ in range(batches):
            model(smooth_images(batch_size, gen))
    model.eval()
    return len(bns)


def scope_prefixes(module_path):
    """Node-name prefixes of a module's scope: torch 1.13 writes each level either as the dotted
    path so far (`/layer4/layer4.1/`, children of Sequential) or as the attribute name alone
    (`/features/denseblock3/`, densenet's named Sequential / ModuleDict children)."""
    parts = module_path.split(".")
    nested = "/" + "/".join(".".join(parts[: i + 1]) for i in range(len(parts))) + "/"
    plain = "/" + "/".join(parts) + "/"
    return [nested] if nested == plain else [nested, plain]


def onnx_tensor_for(graph, module_path, op):
    if module_path == FINAL_RELU:
        nodes = [n for n in graph.node if n.name == "/Relu"]
    else:
        prefixes = tuple(scope_prefixes(module_path))
        nodes = [n for n in graph.node if n.name.startswith(prefixes)]
    if not nodes:
        raise SystemExit(f"no ONNX node in the scope of '{module_path}'")
    node = nodes[-1]
    if node.op_type != op:
        raise SystemExit(f"'{module_path}': last node in scope is {node.name} ({node.op_type}), expected op {op}")
    return node.output[0], node.name


def kink_masks(name, model, x, targets):
    """One no-grad forward pass recording, in call order, the piecewise-linear masks of every
    ReLU / ReLU6 module call (input > 0, or 0 < input < 6) and the call index at which each
    target module returns (the calls after it are downstream of the target in these nets)."""
    calls, target_at = [], {}
    modules = dict(model.named_modules())
    handles = []
    for mname, m in model.named_modules():
        if isinstance(m, (nn.ReLU, nn.ReLU6)):
            def hook(mod, inp, _out, mname=mname):
                a = inp[0]
                mask = (a > 0) & (a < 6) if isinstance(mod, nn.ReLU6) else a > 0
                calls.append((mname, mask))
            handles.append(m.register_forward_hook(hook))
    for key, path, _op in targets:
        if path != FINAL_RELU:
            def at(*_a, key=key):
                target_at.setdefault(key, len(calls))  # returns None: the output is kept

            handles.append(modules[path].register_forward_hook(at))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    for key, path, _op in targets:
        target_at.setdefault(key, len(calls))
    return calls, target_at


def forward_capture(name, model, x, targets):
    """One forward pass that keeps the target activations in the autograd graph."""
    modules = dict(model.named_modules())
    captured = {}
    handles = []
    for key, path, _op in targets:
        if path == FINAL_RELU:
            continue

        def hook(_m, _inp, out, key=key):
            captured[key] = out

        handles.append(modules[path].register_forward_hook(hook))
    try:
        if name == "densenet121" and any(p == FINAL_RELU for _k, p, _o in targets):
            # DenseNet.forward: relu(features(x)) -> adaptive avg pool -> flatten -> classifier.
            feats = model.features(x)
            a = F.relu(feats)
            for key, path, _op in targets:
                if path == FINAL_RELU:
                    captured[key] = a
            logits = model.classifier(torch.flatten(F.adaptive_avg_pool2d(a, (1, 1)), 1))
        else:
            logits = model(x)
    finally:
        for h in handles:
            h.remove()
    return logits, captured


def export_model(name, out_root):
    t0 = time.time()
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None)
    no_inplace(model)
    gen = torch.Generator().manual_seed(1234)
    n_bn = recalibrate_bn(model, gen)
    model.eval()
    x = smooth_images(1, torch.Generator().manual_seed(42))
    t_calib = time.time() - t0

    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    t1 = time.time()
    with torch.no_grad():
        torch.onnx.export(model, (x,), onnx_path, opset_version=17, input_names=["input"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
    t_export = time.time() - t1

    proto = onnx.load(onnx_path)
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    graph = proto.graph

    t2 = time.time()
    targets = TARGETS[name]
    logits, captured = forward_capture(name, model, x, targets)
    cls = int(logits[0].argmax())
    keys = [k for k, _p, _o in targets]
    grads = torch.autograd.grad(logits[0, cls], [captured[k] for k in keys])
    t_autograd = time.time() - t2

    # The same in float64 (same weights, the float32 input upcast): the float32 noise floor. Deep
    # ReLU / ReLU6 networks have pre-activations within rounding error of a kink, so a float32
    # run of any framework (torch included) flips a few masks and can land far from this.
    t3 = time.time()
    calls32, target_at = kink_masks(name, model, x, targets)
    model.double()
    logits64, captured64 = forward_capture(name, model, x.double(), targets)
    grads64 = torch.autograd.grad(logits64[0, cls], [captured64[k] for k in keys])
    calls64, _ = kink_masks(name, model, x.double(), targets)
    model.float()
    # Elements whose ReLU / ReLU6 mask differs between the float32 and float64 forward passes.
    flips = [int((m32 != m64).sum()) for (_n, m32), (_n2, m64) in zip(calls32, calls64)]
    flip_sites = [f"{n}: {f}" for (n, _m), f in zip(calls32, flips) if f]
    t_autograd64 = time.time() - t3

    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "logits.npy"), logits.detach().numpy().astype(np.float32))
    entries = []
    for (key, path, op), g, g64 in zip(targets, grads, grads64):
        act = captured[key]
        tensor, node_name = onnx_tensor_for(graph, path, op)
        if shapes.get(tensor) != list(act.shape):
            raise SystemExit(f"{name} {path}: ONNX tensor {tensor} has shape {shapes.get(tensor)}, torch {list(act.shape)}")
        files = {"activations": f"{key}.activations.npy", "gradients": f"{key}.gradients.npy",
                 "gradients64": f"{key}.gradients64.npy"}
        np.save(os.path.join(out, files["activations"]), act.detach().numpy().astype(np.float32))
        np.save(os.path.join(out, files["gradients"]), g.numpy().astype(np.float32))
        np.save(os.path.join(out, files["gradients64"]), g64.numpy().astype(np.float64))
        scale64 = float(g64.abs().max())
        entries.append({
            "key": key, "module": "relu(features.norm5)" if path == FINAL_RELU else path,
            "target": tensor, "node": node_name, "op": op, "classIndex": [cls],
            "activationsShape": list(act.shape), "logits": "logits.npy", **files,
            "maxAbsActivation": float(act.detach().abs().max()), "maxAbsGradient": float(g.abs().max()),
            # max|g32 - g64| / max|g64|: how far torch's own float32 gradient is from float64.
            "torch32VsTorch64": float((g.double() - g64).abs().max()) / scale64,
            "logits32VsLogits64": float((logits.double() - logits64).abs().max() / logits64.abs().max()),
            # ReLU / ReLU6 elements downstream of the target whose mask flips between float32 and float64.
            "kinkFlipsDownstream32Vs64": sum(flips[target_at[key]:]),
        })
        print(f"  {name:16s} {key:7s} {tensor:60s} {list(act.shape)} max|a|={entries[-1]['maxAbsActivation']:.3g}"
              f" max|g|={entries[-1]['maxAbsGradient']:.3g} torch32-vs-64={entries[-1]['torch32VsTorch64']:.2e}"
              f" flips={entries[-1]['kinkFlipsDownstream32Vs64']}", flush=True)
    top2 = logits[0].topk(2).values
    info = {
        "name": name, "dir": name, "model": "model.onnx", "input": "input.npy", "inputShape": list(x.shape),
        "classIndex": cls, "logitMargin": float(top2[0] - top2[1]), "maxAbsLogit": float(logits.abs().max()),
        "onnxBytes": os.path.getsize(onnx_path), "onnxNodes": len(graph.node),
        "onnxOps": sorted({n.op_type for n in graph.node}), "batchNormLayersRecalibrated": n_bn,
        "kinkFlips32Vs64": flip_sites,
        "seconds": {"calibrate": round(t_calib, 2), "export": round(t_export, 2), "autograd": round(t_autograd, 2),
                    "autograd64": round(t_autograd64, 2)},
        "targets": entries,
    }
    print(f"{name}: class {cls}, {len(graph.node)} nodes, {info['onnxBytes'] / 1e6:.1f} MB, ops {info['onnxOps']}, "
          f"{time.time() - t0:.1f} s", flush=True)
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default=os.environ.get("WEBGPU_CAM_BIG", "/tmp/webgpu-cam-big"))
    parser.add_argument("--models", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    args = parser.parse_args()
    out_root = os.path.abspath(args.out_dir)
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    if out_root == repo or out_root.startswith(repo + os.sep):
        raise SystemExit(f"{out_root} is inside the repository; pick a scratch folder outside it")
    names = [m for m in args.models.split(",") if m]
    for m in names:
        if m not in TARGETS:
            raise SystemExit(f"unknown model {m}; choose from {', '.join(TARGETS)}")
    os.makedirs(out_root, exist_ok=True)
    manifest_path = os.path.join(out_root, "manifest.json")
    # Re-exporting a subset keeps the other models' entries.
    models = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            models = {m["name"]: m for m in json.load(f).get("models", [])}
    t0 = time.time()
    for m in names:
        models[m] = export_model(m, out_root)
        with open(manifest_path, "w") as f:
            json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__,
                       "opset": 17, "seed": SEED,
                       "models": [models[k] for k in TARGETS if k in models]}, f, indent=1)
    print(f"wrote {manifest_path} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
