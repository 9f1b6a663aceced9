"""The model zoo: torchvision classification architectures exported to ONNX in several variants,
with torch-autograd references, for models/zoo/verify-zoo.ts (issue 9, item 6).

    /usr/bin/python3 models/zoo/export_zoo.py [out_dir] [--models resnet18,vit_b_16] [--variants static17,opset13]
    /usr/bin/python3 models/zoo/export_zoo.py --tiny test/fixtures/zoo      # the npm-test subset

out_dir defaults to $WEBGPU_CAM_ZOO or models/zoo/out/ (git-ignored): the full zoo is about 6 GB
and is never committed. The manifest is rewritten after each architecture (a partial run is usable).

Per architecture, <out_dir>/<arch>/ holds:
  <variant>.onnx          static17: opset 17, static [1,3,S,S]; dynamic: opset 17, symbolic batch;
                          softmax: static17 with a Softmax appended after the logits (output
                          'probabilities'); opset13 / opset11: static, older opsets (LayerNorm,
                          Split, Squeeze... in their older forms)
  input.npy               the input image tensor (smooth random image, ImageNet-normalised)
  logits.npy              torch's logits [1, K] (pre-softmax: the Softmax variant explains these)
  activations.npy         the default target layer's output (the last feature block), as torch has it
  gradients.npy           d logit[class] / d activations, torch autograd, float32
  gradients64.npy         the same in float64 (the float32 noise floor of the gradient)
  gradcam.npy             Grad-CAM written in NumPy from activations/gradients (after the token /
                          channels-last reshape-transform for transformers) at the input size
  mid.*.npy               the same four for a second, earlier target (MID_TARGETS; not in --tiny)
The manifest also records each target's float32 conditioning: perturbGrad / perturbMap, the change
of torch's own gradient and NumPy Grad-CAM under rounding-level input perturbations (2 draws).
and <out_dir>/manifest.json (architectures, target tensors per variant, class, layout, errors).
--refs-only keeps the .onnx files already there and redoes the torch references and the manifest.

Weights are random (weights=None, seed 0, no network). BatchNorm running statistics are
re-estimated by forward passes in train mode (BN layers only) on generated images, so activations
of deep random networks stay near unit scale. torchvision's ViT zero-initialises its head (all
logits 0, every gradient 0): the head is re-drawn from N(0, 0.02^2).

Targets: the last feature block (`layer4`, `features`, `Mixed_7c`, ...). For ViT the target is the
last encoder block's first LayerNorm (`ln_1`, as pytorch-grad-cam recommends): after the last
attention only the class token reaches the head, so later token layers have zero patch gradients.
The ONNX tensor of a module is the output of the last node (topological order) in its scope; its
shape is checked against the hooked torch tensor by ONNX shape inference.
"""
import argparse
import json
import os
import time
import traceback

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import helper

torch.set_num_threads(1)
SEED = 0
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
VARIANTS = ["static17", "dynamic", "softmax", "opset13", "opset11"]


def _tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


# arch -> (builder, input size, target module, layout of the target: 'nchw' | 'tokens' | 'nhwc').
ARCHS = {
    "resnet18": (_tv("resnet18"), 128, "layer4", "nchw"),
    "resnet50": (_tv("resnet50"), 128, "layer4", "nchw"),
    "resnext50_32x4d": (_tv("resnext50_32x4d"), 128, "layer4", "nchw"),
    # VGG's AdaptiveAvgPool2d((7, 7)) exports only when the feature map is a multiple of 7: 224.
    "vgg11_bn": (_tv("vgg11_bn"), 224, "features", "nchw"),
    "mobilenet_v2": (_tv("mobilenet_v2"), 128, "features", "nchw"),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), 128, "features", "nchw"),
    "efficientnet_b0": (_tv("efficientnet_b0"), 128, "features", "nchw"),
    "densenet121": (_tv("densenet121"), 128, "features", "nchw"),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=True), 128, "inception5b", "nchw"),
    "inception_v3": (_tv("inception_v3", aux_logits=False, init_weights=True), 160, "Mixed_7c", "nchw"),
    "shufflenet_v2_x1_0": (_tv("shufflenet_v2_x1_0"), 128, "conv5", "nchw"),
    "squeezenet1_1": (_tv("squeezenet1_1"), 128, "features", "nchw"),
    "regnet_y_400mf": (_tv("regnet_y_400mf"), 128, "trunk_output", "nchw"),
    "mnasnet0_5": (_tv("mnasnet0_5"), 128, "layers", "nchw"),
    "convnext_tiny": (_tv("convnext_tiny"), 128, "features", "nchw"),
    "vit_b_16": (_tv("vit_b_16", image_size=112), 112, "encoder.layers.encoder_layer_11.ln_1", "tokens"),
    "swin_t": (_tv("swin_t"), 224, "features", "nhwc"),
}

# A second, earlier target per architecture (one resolution stage before the last, or half-way
# through a transformer): behind the last block most CNNs have only pooling and the classifier,
# so its gradient is nearly linear; from here the gradient crosses whole blocks (convs, BN, SE,
# channel shuffle, attention, LayerNorms, GELUs, window shifts). Files are prefixed "mid.".
MID_TARGETS = {
    "resnet18": "layer3", "resnet50": "layer3", "resnext50_32x4d": "layer3", "vgg11_bn": "features.20",
    "mobilenet_v2": "features.13", "mobilenet_v3_small": "features.8", "efficientnet_b0": "features.5",
    "densenet121": "features.denseblock3", "googlenet": "inception4e", "inception_v3": "Mixed_6e",
    "shufflenet_v2_x1_0": "stage3", "squeezenet1_1": "features.7", "regnet_y_400mf": "trunk_output.block3",
    "mnasnet0_5": "layers.11", "convnext_tiny": "features.5", "vit_b_16": "encoder.layers.encoder_layer_5.ln_1",
    "swin_t": "features.5",
}


def _tiny_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)


def _tiny_swin():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[1, 2], window_size=[4, 4], num_classes=10)


def _tiny_mobilenet_v3():
    # The PaddleOCR-classifier traits: MobileNetV3-small blocks (hardswish, squeeze-excite), narrow.
    from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
    setting, _last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.5)
    return MobileNetV3(setting[:5], last_channel=32, num_classes=10)


# The npm-test subset: the same torchvision classes built small (fixtures < 2 MB in all), each in
# the variants that matter for it (the test derives the Softmax variant from static17 itself).
TINY = {
    "tiny_mobilenet_v3": (_tiny_mobilenet_v3, 64, "features", "nchw"),
    "tiny_vit": (_tiny_vit, 32, "encoder.layers.encoder_layer_1.ln_1", "tokens"),
    "tiny_swin": (_tiny_swin, 32, "features", "nhwc"),
}
TINY_VARIANTS = {"tiny_mobilenet_v3": ["static17", "dynamic"], "tiny_vit": ["static17", "dynamic", "opset13"],
                 "tiny_swin": ["static17"]}


def smooth_images(n, size, gen):
    coarse = F.interpolate(torch.rand(n, 3, 8, 8, generator=gen), size=size, mode="bicubic", align_corners=False)
    fine = F.interpolate(torch.rand(n, 3, 28, 28, generator=gen), size=size, mode="bilinear", align_corners=False)
    img = (0.75 * coarse + 0.25 * fine).clamp(0, 1)
    return (img - MEAN) / STD


def prepare(build, size):
    torch.manual_seed(SEED)
    model = build()
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False  # an in-place op would rewrite a hooked tensor
    if isinstance(model, torchvision.models.DenseNet):
        # DenseNet.forward applies F.relu(features, inplace=True), which would overwrite the hooked
        # `features` output; the same computation without the in-place write (same ONNX graph).
        # A closure, not a `self=model` default: torch.onnx.export fills in forward's default
        # arguments as graph inputs and refuses a module there.
        def densenet_forward(net):
            def forward(x):
                out = F.adaptive_avg_pool2d(F.relu(net.features(x)), (1, 1))
                return net.classifier(torch.flatten(out, 1))

            return forward

        model.forward = densenet_forward(model)
    heads = getattr(model, "heads", None)
    if heads is not None and isinstance(getattr(heads, "head", None), nn.Linear):
        nn.init.normal_(heads.head.weight, std=0.02)  # ViT: torchvision zero-initialises it
    gen = torch.Generator().manual_seed(1234)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
        m.train()
    with torch.no_grad():
        for _ in range(4 if bns else 0):
            model(smooth_images(8, size, gen))
    model.eval()
    return model


def autograd(model, x, targets, cls=None):
    """Logits and, per target module, its activations and d logit[top-1] / d activations."""
    captured = {}
    modules = dict(model.named_modules())
    handles = [modules[t].register_forward_hook(lambda _m, _i, out, t=t: captured.setdefault(t, out)) for t in targets]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    cls = int(logits.argmax(1)[0]) if cls is None else cls
    grads = torch.autograd.grad(logits[0, cls], [captured[t] for t in targets])
    return logits.detach(), [captured[t].detach() for t in targets], [g.detach() for g in grads], cls


def to_grid(t, layout):
    """The reshape-transform: tokens [B, (1+)h*w, D] -> [B, D, h, w] (class token dropped),
    [B, H, W, D] -> [B, D, H, W]; NCHW unchanged."""
    if layout == "tokens":
        n = t.shape[1]
        side = int(round(np.sqrt(n)))
        prefix = 0 if side * side == n else 1
        side = int(round(np.sqrt(n - prefix)))
        assert side * side == n - prefix, f"{n} tokens are not (1 +) a square"
        return t[:, prefix:, :].reshape(t.shape[0], side, side, t.shape[2]).transpose(0, 3, 1, 2)
    if layout == "nhwc":
        return t.transpose(0, 3, 1, 2)
    return t


def resize_bilinear(m, out_h, out_w):
    """cv2.resize INTER_LINEAR: sample at (dst + 0.5) * in/out - 0.5, edges clamped."""
    in_h, in_w = m.shape

    def axis(n_out, n_in):
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo

    y0, y1, fy = axis(out_h, in_h)
    x0, x1, fx = axis(out_w, in_w)
    top = m[y0][:, x0] * (1 - fx) + m[y0][:, x1] * fx
    bottom = m[y1][:, x0] * (1 - fx) + m[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


def minmax(m):
    m = m - m.min()
    return m / (m.max() + 1e-7)


def gradcam_numpy(acts, grads, size):
    """Grad-CAM (spec/gradcam-family.md): w_k = mean_ij g_k; map = ReLU(sum_k w_k A_k);
    minmax, bilinear resize to the input size, minmax again. float64 throughout."""
    a = acts[0].astype(np.float64)
    g = grads[0].astype(np.float64)
    w = g.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(w, a, axes=1), 0)
    return minmax(resize_bilinear(minmax(cam), size, size)).astype(np.float32)


def module_of(node_name):
    """'/layer4/layer4.1/relu_1/Relu' -> 'layer4.1.relu_1'; '/features/denseblock3/x' -> 'features.denseblock3'."""
    parts = [p for p in node_name.split("/") if p][:-1]
    return ".".join(p.split(".")[-1] for p in parts)


_LOADED = {}


def _load_inferred(path):
    """The model and its ONNX shape inference, once per file (targets share them)."""
    key = (path, os.path.getmtime(path))
    if key not in _LOADED:
        _LOADED.clear()
        model = onnx.load(path)
        _LOADED[key] = (model, onnx.shape_inference.infer_shapes(model))
    return _LOADED[key]


def onnx_target(path, module, shape):
    model, inferred = _load_inferred(path)
    nodes = [n for n in model.graph.node if (lambda m: m == module or m.startswith(module + "."))(module_of(n.name))]
    if not nodes:
        raise RuntimeError(f"no ONNX node in the scope of '{module}'")
    name = nodes[-1].output[0]
    dims = None
    for v in list(inferred.graph.value_info) + list(inferred.graph.output):
        if v.name == name:
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim]
    if dims and dims[1:] != list(shape[1:]):  # [] or None: the shape was not inferred
        raise RuntimeError(f"tensor {name} has shape {dims}, torch's module output {list(shape)}")
    return name, nodes[-1].op_type


def export_variant(model, size, variant, out):
    x = torch.zeros(1, 3, size, size)
    opset = {"opset13": 13, "opset11": 11}.get(variant, 17)
    kw = dict(opset_version=opset, input_names=["input"], output_names=["logits"], do_constant_folding=True)
    if variant == "dynamic":
        kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if variant == "softmax":
        static = os.path.join(os.path.dirname(out), "static17.onnx")
        m = onnx.load(static)
        m.graph.node.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="/appended/Softmax", axis=1))
        out_vi = m.graph.output[0]
        m.graph.output.remove(out_vi)
        m.graph.output.append(helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, [1, None]))
        onnx.save(m, out)
        return
    torch.onnx.export(model, x, out, **kw)


def perturbation_noise(a, g, draws, layout, size):
    """Max over the draws of max|g' - g| / max|g| and of the Grad-CAM map's max abs change."""
    gn, cam = g.numpy(), gradcam_numpy(to_grid(a.numpy(), layout), to_grid(g.numpy(), layout), size)
    grad_noise = map_noise = 0.0
    for ap, gp in draws:
        grad_noise = max(grad_noise, float(np.abs(gp.numpy() - gn).max() / max(np.abs(gn).max(), 1e-30)))
        cam_p = gradcam_numpy(to_grid(ap.numpy(), layout), to_grid(gp.numpy(), layout), size)
        map_noise = max(map_noise, float(np.abs(cam_p - cam).max()))
    return grad_noise, map_noise


def save_refs(d, prefix, a, g, g64, layout, size):
    np.save(os.path.join(d, f"{prefix}activations.npy"), a.numpy())
    np.save(os.path.join(d, f"{prefix}gradients.npy"), g.numpy())
    np.save(os.path.join(d, f"{prefix}gradients64.npy"), g64.numpy())
    grid_a, grid_g = to_grid(a.numpy(), layout), to_grid(g.numpy(), layout)
    np.save(os.path.join(d, f"{prefix}gradcam.npy"), np.ascontiguousarray(gradcam_numpy(grid_a, grid_g, size)))
    g64n = g64.numpy()
    noise = float(np.abs(g.numpy().astype(np.float64) - g64n).max() / max(np.abs(g64n).max(), 1e-30))
    return list(grid_a.shape), noise


def export_arch(name, spec, out_root, variants, mid=None, refs_only=False):
    build, size, target, layout = spec
    t0 = time.time()
    targets = [target] + ([mid] if mid else [])
    model = prepare(build, size)
    x = smooth_images(1, size, torch.Generator().manual_seed(99))
    logits, acts, grads, cls = autograd(model, x, targets)
    # float32 conditioning: the same gradient after rounding-level input perturbations (x times
    # 1 + 1e-6 N(0,1), about 8 ulps). Where kinks (ReLU masks, max-pool winners) sit within
    # rounding error, two float32 implementations differ by as much as these draws do.
    pgen = torch.Generator().manual_seed(7)
    perturbed = []
    for _ in range(2):
        xp = x * (1 + 1e-6 * torch.randn(x.shape, generator=pgen))
        _lp, ap, gp, _cp = autograd(model, xp, targets, cls)
        perturbed.append((ap, gp))
    model64 = prepare(build, size).double()
    _l64, _a64, grads64, cls64 = autograd(model64, x.double(), targets, cls)
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input.npy"), x.numpy())
    np.save(os.path.join(d, "logits.npy"), logits.numpy())
    grid, noise = save_refs(d, "", acts[0], grads[0], grads64[0], layout, size)
    entry = {
        "name": name, "dir": name, "size": size, "module": target, "layout": layout, "classIndex": cls,
        "classIndex64": cls64, "activationsShape": list(acts[0].shape), "gridShape": grid,
        "torch32VsTorch64": noise, "variants": {}, "extraTargets": [],
    }
    entry["perturbGrad"], entry["perturbMap"] = perturbation_noise(acts[0], grads[0], [(p[0][0], p[1][0]) for p in perturbed], layout, size)
    extra = None
    if mid:
        mgrid, mnoise = save_refs(d, "mid.", acts[1], grads[1], grads64[1], layout, size)
        extra = {"key": "mid", "module": mid, "activationsShape": list(acts[1].shape), "gridShape": mgrid,
                 "torch32VsTorch64": mnoise, "variants": {}}
        extra["perturbGrad"], extra["perturbMap"] = perturbation_noise(acts[1], grads[1], [(p[0][1], p[1][1]) for p in perturbed], layout, size)
        entry["extraTargets"].append(extra)
    for v in variants:
        path = os.path.join(d, f"{v}.onnx")
        try:
            if not (refs_only and os.path.exists(path)):
                export_variant(model, size, v, path)
            tensor, op = onnx_target(path, target, acts[0].shape)
            entry["variants"][v] = {"model": f"{v}.onnx", "target": tensor, "op": op,
                                    "logits": "logits", "bytes": os.path.getsize(path)}
            if extra is not None:
                mtensor, mop = onnx_target(path, mid, acts[1].shape)
                extra["variants"][v] = {"model": f"{v}.onnx", "target": mtensor, "op": mop}
        except Exception as e:  # reported in the table as an export error
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            entry["variants"][v] = {"exportError": f"{type(e).__name__}: {msg}"[:300]}
            traceback.print_exc(limit=1)
    entry["exportSeconds"] = round(time.time() - t0, 1)
    print(f"{name}: class {cls}, target {target} {list(acts[0].shape)} -> grid {grid}, "
          f"torch32 vs 64 {noise:.2e}, perturbed {entry['perturbGrad']:.2e} / map {entry['perturbMap']:.2e}"
          + (f"; mid {mid} {list(acts[1].shape)}, torch32 vs 64 {extra['torch32VsTorch64']:.2e}, perturbed "
             f"{extra['perturbGrad']:.2e} / map {extra['perturbMap']:.2e}" if mid else "")
          + f", {entry['exportSeconds']} s", flush=True)
    return entry


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out", nargs="?", default=None)
    p.add_argument("--models", default="")
    p.add_argument("--variants", default="")
    p.add_argument("--tiny", action="store_true", help="the small npm-test subset")
    p.add_argument("--refs-only", action="store_true", help="keep existing .onnx files, redo the torch references")
    args = p.parse_args()
    specs = TINY if args.tiny else ARCHS
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    out = args.out or ("test/fixtures/zoo" if args.tiny else os.environ.get("WEBGPU_CAM_ZOO", default_out))
    wanted = [m for m in args.models.split(",") if m] or list(specs)
    variants = [v for v in args.variants.split(",") if v] or (VARIANTS[:4] if args.tiny else VARIANTS)
    if "softmax" in variants and "static17" not in variants:
        variants.insert(0, "static17")
    variants.sort(key=lambda v: 0 if v == "static17" else 1)  # softmax is derived from static17
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {"models": []}
    by_name = {m["name"]: m for m in manifest["models"]}
    for name in wanted:
        if name not in specs:
            raise SystemExit(f"unknown architecture {name}; known: {', '.join(specs)}")
        chosen = [v for v in variants if v in TINY_VARIANTS[name]] if args.tiny and not args.variants else variants
        mid = None if args.tiny else MID_TARGETS.get(name)
        by_name[name] = export_arch(name, specs[name], out, chosen, mid=mid, refs_only=args.refs_only)
        manifest = {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__,
                    "models": [by_name[n] for n in specs if n in by_name]}
        with open(manifest_path, "w") as f:
            json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
