#!/usr/bin/python3
"""Export the Soft-CAM digits network to ONNX and describe it in model.json.

    /usr/bin/python3 models/softcam/export.py [--checkpoint build/softcam-digits.pt]

Writes (next to this file):
  softcam-digits.onnx    opset 17, input `input` float32 [1,3,224,224] (static batch 1), outputs
                         `logits` float32 [1,10] and `evidence` float32 [1,10,7,7]; `evidence` is
                         the output of the 1x1 evidence convolution and the input of the
                         GlobalAveragePool + Flatten that make the logits (so it lies on the path
                         to the logits); eval-mode BatchNorm folded into Conv
  model.json             the format of models/digits/model.json plus `evidence_output`
  samples-expected.json  torch logits and evidence statistics of models/digits/samples/sample-*.png

Checks: onnx.checker (full); graph structure (evidence = Conv 1x1 output -> GlobalAveragePool ->
Flatten -> logits); ONNX shape inference; the numpy ONNX runner of models/digits/export.py
(imported) against torch on the samples (logits and evidence); mean(evidence[c]) == logits[c]
to 1e-5 in both; held-out accuracy of the *file* on held-out images 0..999 (numpy runner).
"""

import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')  # one core: the machine is shared

import argparse  # noqa: E402
import hashlib
import importlib.util
import json
import sys
import time
from collections import Counter

import numpy as np
import onnx
import torch
from onnx import shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(os.path.dirname(HERE), 'digits')


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


sc = _load('softcam_train', os.path.join(HERE, 'train.py'))  # puts models/digits on sys.path
digits_export = _load('digits_export', os.path.join(DIGITS, 'export.py'))  # numpy ONNX runner
md = sc.md
run_numpy = digits_export.run_numpy

ONNX_PATH = os.path.join(HERE, 'softcam-digits.onnx')
MODEL_JSON = os.path.join(HERE, 'model.json')
SAMPLES = os.path.join(DIGITS, 'samples')
SAMPLES_EXPECTED = os.path.join(HERE, 'samples-expected.json')
STANDARD_JSON = os.path.join(DIGITS, 'model.json')


def check_graph(model):
    """evidence: output of a 1x1 Conv (10 filters), consumed by GlobalAveragePool -> Flatten ->
    logits. Returns the conv node."""
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    conv = producers['evidence']
    assert conv.op_type == 'Conv', conv.op_type
    w = [t for t in model.graph.initializer if t.name == conv.input[1]][0]
    assert list(w.dims) == [10, 256, 1, 1], w.dims
    gap = consumers['evidence']
    assert [n.op_type for n in gap] == ['GlobalAveragePool'], [n.op_type for n in gap]
    flat = consumers[gap[0].output[0]]
    assert [n.op_type for n in flat] == ['Flatten'], [n.op_type for n in flat]
    assert flat[0].output[0] == 'logits'
    return conv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--checkpoint', default=sc.CHECKPOINT)
    ap.add_argument('--out', default=ONNX_PATH)
    ap.add_argument('--verify-n', type=int, default=md.HELDOUT_EVAL_COUNT,
                    help='held-out images to re-evaluate through the numpy ONNX runner')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    net = sc.SoftCamDigits()
    net.load_state_dict(torch.load(args.checkpoint))
    net.eval()
    wrapper = sc.SoftCamExport(net).eval()
    dummy = torch.zeros(1, 3, md.SIZE, md.SIZE)
    torch.onnx.export(wrapper, dummy, args.out, opset_version=17, input_names=['input'],
                      output_names=['logits', 'evidence'], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL, export_params=True)
    model = onnx.load(args.out)
    onnx.checker.check_model(model, full_check=True)
    size = os.path.getsize(args.out)
    with open(args.out, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    ops = Counter(n.op_type for n in model.graph.node)
    ins = [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input]
    outs = [(o.name, [d.dim_value for d in o.type.tensor_type.shape.dim])
            for o in model.graph.output]
    print(f'{args.out}: {size} bytes ({size / 2**20:.2f} MiB), sha256 {sha}')
    print('inputs:', ins, 'outputs:', outs)
    print('op types:', dict(sorted(ops.items())))
    assert ins == [('input', [1, 3, 224, 224])], ins
    assert outs == [('logits', [1, 10]), ('evidence', [1, 10, 7, 7])], outs
    assert size < 6 * 2**20, size
    conv = check_graph(model)
    inferred = shape_inference.infer_shapes(model)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    backbone_out = conv.input[0]
    assert shapes['evidence'] == [1, 10, 7, 7] and shapes[backbone_out] == [1, 256, 7, 7]
    print(f'evidence = Conv {conv.name}({backbone_out} [1,256,7,7]) -> GlobalAveragePool -> '
          'Flatten -> logits')

    # samples: torch vs the numpy ONNX runner; logits = spatial mean of the evidence
    with open(os.path.join(SAMPLES, 'boxes.json')) as f:
        sample_meta = json.load(f)
    expected = {}
    worst = worst_ev = worst_mean_np = worst_mean_t = 0.0
    for name, e in sample_meta['images'].items():
        img, label, box = md.render('heldout', e['heldout_index'])
        x = sc.to_tensor(img[None])
        with torch.no_grad():
            l_t, a_t = net.forward_both(x)
        r = run_numpy(model, {'input': x.numpy()})
        worst = max(worst, float(np.abs(r['logits'] - l_t.numpy()).max()))
        worst_ev = max(worst_ev, float(np.abs(r['evidence'] - a_t.numpy()).max()))
        a_np = r['evidence'][0].astype(np.float64)
        worst_mean_np = max(worst_mean_np,
                            float(np.abs(a_np.mean(axis=(1, 2)) - r['logits'][0]).max()))
        worst_mean_t = max(worst_mean_t, float(np.abs(a_t.numpy()[0].astype(np.float64)
                                                      .mean(axis=(1, 2)) - l_t.numpy()[0]).max()))
        logits = l_t.numpy()[0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        a = a_t.numpy()[0]
        c = int(logits.argmax())
        expected[name] = {'label': label, 'predicted': c,
                          'probability': round(float(p.max()), 6),
                          'logits': [round(float(v), 5) for v in logits],
                          'evidence_min': round(float(a[c].min()), 5),
                          'evidence_max': round(float(a[c].max()), 5),
                          'evidence_argmax_cell': [int(v) for v in
                                                   np.unravel_index(a[c].argmax(), (7, 7))]}
    print(f'numpy ONNX runner vs torch on {len(expected)} samples: max |logits diff| {worst:.2e}, '
          f'max |evidence diff| {worst_ev:.2e}; max |mean(evidence[c]) - logits[c]|: '
          f'{worst_mean_np:.2e} (ONNX file, numpy runner), {worst_mean_t:.2e} (torch)')
    assert worst < 1e-3 and worst_ev < 1e-3, (worst, worst_ev)
    assert worst_mean_np < 1e-5 and worst_mean_t < 1e-5, (worst_mean_np, worst_mean_t)
    with open(SAMPLES_EXPECTED, 'w') as f:
        json.dump({'note': 'torch (eval mode) outputs of softcam-digits for '
                           'models/digits/samples/sample-*.png fed as in model.json (RGB/255, '
                           'ImageNet mean/std, NCHW); evidence_* describe the evidence map '
                           '[7,7] of the predicted class, evidence_argmax_cell = [row, col]',
                   'model': os.path.basename(args.out), 'model_sha256': sha,
                   'images': expected}, f, indent=1)
        f.write('\n')

    # held-out accuracy of the exported file (numpy runner, batch 1 as in the graph)
    acc_file = None
    per_class_file = None
    if args.verify_n > 0:
        t = time.time()
        correct = torch_correct = 0
        pc = np.zeros((10, 2), np.int64)
        for i in range(args.verify_n):
            img, label, _ = md.render('heldout', i)
            x = sc.to_tensor(img[None])
            r = run_numpy(model, {'input': x.numpy()})
            ok = int(r['logits'].argmax() == label)
            correct += ok
            pc[label] += (ok, 1)
            with torch.no_grad():
                torch_correct += int(net(x).argmax() == label)
        acc_file = correct / args.verify_n
        per_class_file = [round(float(v), 4) for v in pc[:, 0] / np.maximum(pc[:, 1], 1)]
        print(f'held-out top-1 of the ONNX file (numpy runner, {args.verify_n} images): '
              f'{acc_file:.4f}; torch: {torch_correct / args.verify_n:.4f} '
              f'[{time.time() - t:.0f} s]')

    log = {}
    if os.path.exists(sc.LOG):
        with open(sc.LOG) as f:
            log = json.load(f)
    with open(STANDARD_JSON) as f:
        standard = json.load(f)
    held = log.get('heldout', {})
    meta = {
        'name': 'softcam-digits',
        'description': 'Soft-CAM (self-explaining) variant of the bundled digits ResNet: 1x1 '
                       'conv class-evidence maps, logits = their spatial mean (see MODEL_CARD.md)',
        'file': os.path.basename(args.out),
        'size_bytes': size,
        'sha256': sha,
        'opset': 17,
        'input': standard['input'],
        'mean': sc.MEAN,
        'std': sc.STD,
        'output': {'name': 'logits', 'shape': [1, 10], 'dtype': 'float32',
                   'note': 'raw class scores = spatial mean of `evidence` per class (apply '
                           'softmax for probabilities)'},
        'outputs': [{'name': 'logits', 'shape': [1, 10], 'dtype': 'float32'},
                    {'name': 'evidence', 'shape': [1, 10, 7, 7], 'dtype': 'float32'}],
        'classes': [str(c) for c in range(10)],
        'evidence_output': 'evidence',
        'feature_layer': {'name': 'evidence', 'shape': [1, 10, 7, 7], 'op': 'Conv',
                          'node': conv.name,
                          'description': 'Soft-CAM class-evidence maps A [10,7,7]: output of the '
                                         '1x1 evidence convolution (256 -> 10, bias), input of '
                                         'GlobalAveragePool; also a graph output. Explain with '
                                         'method softcam (the map of class c is A_c, signed; '
                                         'mean(A_c) = logit c)'},
        'backbone_output': {'name': backbone_out, 'shape': [1, 256, 7, 7],
                            'description': 'output of the last residual block (layer4) after its '
                                           'ReLU; input of the evidence convolution'},
        'head': {'ops': ['Conv', 'GlobalAveragePool', 'Flatten'], 'weight': conv.input[1],
                 'bias': conv.input[2] if len(conv.input) > 2 else None,
                 'note': 'evidence = W * backbone + b (1x1 conv, W [10,256,1,1]); logits = '
                         'mean_hw(evidence): d logit_c / d evidence[k,i,j] = [k == c] / 49'},
        'op_types': dict(sorted(ops.items())),
        'heldout_accuracy': {
            'top1': held.get('top1'),
            'top1_onnx_file': acc_file,
            'per_class_top1': held.get('per_class_top1'),
            'per_class_top1_onnx_file': per_class_file,
            'images': held.get('images'),
            'resolution': 224,
            'set': 'make_dataset.py held-out images 0..999 (held-out digits only)',
            'standard_model_top1': standard['heldout_accuracy']['top1']},
        'training': {k: log.get(k) for k in ('args', 'init', 'initial_heldout_top1', 'parameters',
                                             'train_renders', 'train_seconds')},
        'samples': '../digits/samples/boxes.json, samples-expected.json',
    }
    with open(MODEL_JSON, 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'wrote {MODEL_JSON} and {SAMPLES_EXPECTED}')


if __name__ == '__main__':
    main()
