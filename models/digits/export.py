#!/usr/bin/python3
"""Export the trained digits classifier to ONNX and describe it in model.json.

    /usr/bin/python3 models/digits/export.py [--checkpoint build/digits-resnet.pt]

Writes (next to this file):
  digits-resnet.onnx     opset 17, input `input` float32 [1,3,224,224] (static batch 1),
                         output `logits` float32 [1,10]; eval-mode BatchNorm folded into Conv
  model.json             input/normalisation/classes/feature layer/head/accuracy metadata
  samples/expected.json  torch logits and feature statistics of samples/sample-{0..5}.png

Checks: onnx.checker (full), ONNX shape inference (feature layer shape), and an independent
numpy evaluation of the ONNX graph (Conv, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm)
compared with torch on the samples and used to re-measure held-out accuracy of the *file*.
ONNX Runtime is not used (not installed here); the TypeScript side tests the file with its
own runtime.

`--with-features FILE` also writes a variant whose graph has the feature layer as a second
output (`features`, [1,256,7,7]) for runtimes that can only read graph outputs (not committed).
"""

import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')  # one core: the machine is shared

import argparse  # noqa: E402
import hashlib
import json
import sys
import time
from collections import Counter

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_dataset as md  # noqa: E402
import train as tr  # noqa: E402

ONNX_PATH = os.path.join(HERE, 'digits-resnet.onnx')
MODEL_JSON = os.path.join(HERE, 'model.json')
SAMPLES = os.path.join(HERE, 'samples')


# ----------------------------------------------------------------------------- numpy ONNX runner

def _conv(x, w, b, strides, pads, group, dilations):
    if group != 1 or any(d != 1 for d in dilations):
        raise NotImplementedError('grouped/dilated Conv')
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    pt, pl, pb, pr = pads[0], pads[1], pads[2], pads[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = strides
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    y = np.einsum('nkhw,mk->nmhw', cols.reshape(n, c * kh * kw, oh, ow), w.reshape(m, -1),
                  optimize=True)
    if b is not None:
        y = y + b[None, :, None, None]
    return y.astype(np.float32)


def _maxpool(x, kernel, strides, pads):
    n, c, h, w = x.shape
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    kh, kw = kernel
    sh, sw = strides
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    y = np.full((n, c, oh, ow), -np.inf, np.float32)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return y


def run_numpy(model, feeds, extra=()):
    """Evaluates the graph with numpy; returns {name: array} for outputs and `extra` names."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == 'Conv':
            k = ins[1].shape[2:]
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                      a.get('strides', [1, 1]), a.get('pads', [0, 0, 0, 0]),
                      a.get('group', 1), a.get('dilations', [1] * len(k)))
        elif op == 'Relu':
            y = np.maximum(ins[0], 0)
        elif op == 'Add':
            y = ins[0] + ins[1]
        elif op == 'MaxPool':
            y = _maxpool(ins[0], a['kernel_shape'], a.get('strides', [1, 1]),
                         a.get('pads', [0, 0, 0, 0]))
        elif op == 'GlobalAveragePool':
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == 'Flatten':
            ax = a.get('axis', 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == 'Gemm':
            A, B = ins[0], ins[1]
            if a.get('transA', 0):
                A = A.T
            if a.get('transB', 0):
                B = B.T
            y = a.get('alpha', 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get('beta', 1.0) * ins[2]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y.astype(np.float32)
    names = [o.name for o in model.graph.output] + list(extra)
    return {n: env[n] for n in names}


# ----------------------------------------------------------------------------- export

def find_feature_layer(model):
    producers = {o: n for n in model.graph.node for o in n.output}
    gaps = [n for n in model.graph.node if n.op_type == 'GlobalAveragePool']
    if len(gaps) != 1:
        sys.exit(f'expected one GlobalAveragePool, found {len(gaps)}')
    name = gaps[0].input[0]
    prod = producers[name]
    if prod.op_type != 'Relu':
        sys.exit(f'GlobalAveragePool input {name} comes from {prod.op_type}, not Relu')
    inferred = shape_inference.infer_shapes(model)
    shape = None
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        if vi.name == name:
            shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    return name, prod.name, shape


def gemm_names(model):
    g = [n for n in model.graph.node if n.op_type == 'Gemm'][0]
    a = {at.name: helper.get_attribute_value(at) for at in g.attribute}
    return {'weight': g.input[1], 'bias': g.input[2] if len(g.input) > 2 else None,
            'transB': int(a.get('transB', 0))}


def add_feature_output(model, name, shape, path):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    # expose the feature tensor under a stable name as a second graph output
    m.graph.node.append(helper.make_node('Identity', [name], ['features']))
    m.graph.output.append(helper.make_tensor_value_info('features', onnx.TensorProto.FLOAT, shape))
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    print(f'wrote {path} (outputs: logits, features)')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--checkpoint', default=tr.CHECKPOINT)
    ap.add_argument('--out', default=ONNX_PATH)
    ap.add_argument('--verify-n', type=int, default=md.HELDOUT_EVAL_COUNT,
                    help='held-out images to re-evaluate through the numpy ONNX runner')
    ap.add_argument('--with-features', metavar='FILE')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    net = tr.DigitsResNet()
    net.load_state_dict(torch.load(args.checkpoint))
    net.eval()
    dummy = torch.zeros(1, 3, md.SIZE, md.SIZE)
    torch.onnx.export(net, dummy, args.out, opset_version=17, input_names=['input'],
                      output_names=['logits'], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL, export_params=True)
    model = onnx.load(args.out)
    onnx.checker.check_model(model, full_check=True)
    size = os.path.getsize(args.out)
    with open(args.out, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    ops = Counter(n.op_type for n in model.graph.node)
    feat, feat_node, feat_shape = find_feature_layer(model)
    head = gemm_names(model)
    ins = [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input]
    outs = [(o.name, [d.dim_value for d in o.type.tensor_type.shape.dim])
            for o in model.graph.output]
    print(f'{args.out}: {size} bytes ({size / 2**20:.2f} MiB), sha256 {sha}')
    print('inputs:', ins, 'outputs:', outs)
    print('op types:', dict(sorted(ops.items())))
    print(f'feature layer: {feat} (node {feat_node}), shape {feat_shape}')
    print('classifier:', head)
    assert ins == [('input', [1, 3, 224, 224])] and outs == [('logits', [1, 10])]
    assert feat_shape == [1, 256, 7, 7], feat_shape

    # samples: torch vs the numpy ONNX runner
    md.write_samples(SAMPLES)
    with open(os.path.join(SAMPLES, 'boxes.json')) as f:
        sample_meta = json.load(f)
    expected = {}
    worst = 0.0
    worst_feat = 0.0
    for name, e in sample_meta['images'].items():
        img, label, box = md.render('heldout', e['heldout_index'])
        x = tr.to_tensor(img[None])
        with torch.no_grad():
            f_t = net.features(x)
            l_t = net(x)
        r = run_numpy(model, {'input': x.numpy()}, extra=[feat])
        worst = max(worst, float(np.abs(r['logits'] - l_t.numpy()).max()))
        worst_feat = max(worst_feat, float(np.abs(r[feat] - f_t.numpy()).max()))
        logits = l_t.numpy()[0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        fm = f_t.numpy()[0]
        expected[name] = {'label': label, 'predicted': int(logits.argmax()),
                          'probability': round(float(p.max()), 6),
                          'logits': [round(float(v), 5) for v in logits],
                          'features_mean': round(float(fm.mean()), 6),
                          'features_max': round(float(fm.max()), 5),
                          'features_argmax_cell': [int(v) for v in
                                                   np.unravel_index(fm.sum(0).argmax(), (7, 7))]}
    print(f'numpy ONNX runner vs torch on {len(expected)} samples: max |logits diff| {worst:.2e}, '
          f'max |feature diff| {worst_feat:.2e}')
    assert worst < 1e-3 and worst_feat < 1e-3
    with open(os.path.join(SAMPLES, 'expected.json'), 'w') as f:
        json.dump({'note': 'torch (eval mode) outputs for samples/sample-*.png fed as in '
                           'model.json (RGB/255, ImageNet mean/std, NCHW); '
                           'features_* describe the feature layer [256,7,7], '
                           'features_argmax_cell = [row, col] of the largest channel sum',
                   'model': os.path.basename(args.out), 'model_sha256': sha,
                   'images': expected}, f, indent=1)
        f.write('\n')

    # held-out accuracy of the exported file (numpy runner, batch 1 as in the graph)
    acc_file = None
    if args.verify_n > 0:
        t = time.time()
        correct = 0
        torch_correct = 0
        for i in range(args.verify_n):
            img, label, _ = md.render('heldout', i)
            x = tr.to_tensor(img[None])
            r = run_numpy(model, {'input': x.numpy()})
            correct += int(r['logits'].argmax() == label)
            with torch.no_grad():
                torch_correct += int(net(x).argmax() == label)
        acc_file = correct / args.verify_n
        print(f'held-out top-1 of the ONNX file (numpy runner, {args.verify_n} images): '
              f'{acc_file:.4f}; torch: {torch_correct / args.verify_n:.4f} '
              f'[{time.time() - t:.0f} s]')

    log = {}
    if os.path.exists(tr.LOG):
        with open(tr.LOG) as f:
            log = json.load(f)
    meta = {
        'name': 'digits-resnet',
        'description': 'ResNet-10-style digit classifier for synthetic "digit in clutter" '
                       'images (see MODEL_CARD.md)',
        'file': os.path.basename(args.out),
        'size_bytes': size,
        'sha256': sha,
        'opset': 17,
        'input': {'name': 'input', 'shape': [1, 3, 224, 224], 'dtype': 'float32',
                  'layout': 'NCHW', 'colour': 'RGB',
                  'preprocessing': 'x = (rgb / 255 - mean) / std per channel'},
        'mean': tr.MEAN,
        'std': tr.STD,
        'output': {'name': 'logits', 'shape': [1, 10], 'dtype': 'float32',
                   'note': 'raw class scores (apply softmax for probabilities)'},
        'classes': [str(c) for c in range(10)],
        'feature_layer': {'name': feat, 'shape': feat_shape, 'op': 'Relu', 'node': feat_node,
                          'description': 'output of the last residual block (layer4) after '
                                         'its ReLU; input of GlobalAveragePool. Not a graph '
                                         'output: add it as one to read it (export.py '
                                         '--with-features)'},
        'head': {'ops': ['GlobalAveragePool', 'Flatten', 'Gemm'], 'weight': head['weight'],
                 'bias': head['bias'], 'transB': head['transB'],
                 'note': 'logits = W @ mean_hw(features) + b, W [10,256]: d logit_c / d '
                         'features[k,i,j] = W[c,k] / 49'},
        'op_types': dict(sorted(ops.items())),
        'heldout_accuracy': {
            'top1': log.get('heldout', {}).get('top1'),
            'top1_onnx_file': acc_file,
            'images': log.get('heldout', {}).get('images'),
            'resolution': 224,
            'set': 'make_dataset.py held-out images 0..999 (held-out digits only)'},
        'training': {k: log.get(k) for k in ('args', 'parameters', 'train_renders',
                                             'train_seconds', 'phases')},
        'samples': 'samples/boxes.json, samples/expected.json',
    }
    with open(MODEL_JSON, 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'wrote {MODEL_JSON}')
    if args.with_features:
        add_feature_output(model, feat, feat_shape, args.with_features)


if __name__ == '__main__':
    main()
