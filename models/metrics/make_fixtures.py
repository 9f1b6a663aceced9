#!/usr/bin/env python3
"""Parity fixtures for the metrics module (src/engine/metrics), computed in torch / NumPy /
SciPy / scikit-image from the metrics' published definitions (see docs/evaluation.md):

- a small deterministic torch CNN (seed 0) on 3x32x32 inputs, exported to ONNX
  (test/fixtures/metrics/tiny-cnn.onnx) so the TypeScript side runs the same model in ONNX
  Runtime while this script scores with torch;
- three bundled samples (models/digits/samples/sample-{0,1,2}.png, area-resized to 32x32) and
  two fixed maps each (a Gaussian blob on the digit's box, a smooth random map);
- per sample and map: Average Drop / Increase (CF-CAM ad.py / ai.py), deletion and insertion
  curves and AUCs with the zero, blur, mean and black baselines (auc.py), ROAD MoRF / LeRF at
  percentiles 10..90 without noise (exact sparse solve, scipy.sparse.linalg.spsolve),
  the confidence change (pytorch-grad-cam CamMultImageConfidenceChange), SSIM (skimage) and
  MSE between the two maps, the pointing game and its energy-based variant.

  /usr/bin/python3 models/metrics/make_fixtures.py     # writes test/fixtures/metrics/
"""
import json
import os

import cv2
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
import torch.nn as nn
from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'metrics')
SIZE = 32
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
STEPS = 100


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = x.mean(dim=(2, 3))
        return self.fc(x)


def build_model():
    torch.manual_seed(0)
    model = TinyCnn().eval()
    with torch.no_grad():
        # Larger head weights: probabilities away from uniform, so the metrics move.
        model.fc.weight.mul_(8.0)
    return model


def probability(model, batch, cls):
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(batch, np.float32)))
        return torch.softmax(logits.double(), dim=1)[:, cls].numpy()


def gaussian_taps(length, sigma):
    r = (length - 1) / 2
    t = np.exp(-((np.arange(length) - r) ** 2) / (2 * sigma * sigma))
    return (t / t.sum()).astype(np.float32)


def blur(x):
    taps = torch.from_numpy(gaussian_taps(11, 5.0))
    k = (taps[:, None] * taps[None, :])[None, None].repeat(3, 1, 1, 1)
    with torch.no_grad():
        return torch.nn.functional.conv2d(torch.from_numpy(x)[None], k, padding=5, groups=3)[0].numpy()


def baseline(x, kind):
    if kind == 'zero':
        return np.zeros_like(x)
    if kind == 'black':
        return np.broadcast_to((-MEAN / STD)[:, None, None], x.shape).astype(np.float32)
    if kind == 'mean':
        return np.broadcast_to(x.reshape(3, -1).mean(axis=1)[:, None, None], x.shape).astype(np.float32)
    if kind == 'blur':
        return blur(x)
    raise ValueError(kind)


def curves(model, x, cam, cls, base_del, base_ins):
    order = np.argsort(-cam.ravel(), kind='stable')  # descending, ties by index
    n = cam.size
    step = n // STEPS
    dels, inss = [], []
    for k in range(STEPS + 1):
        count = n if k == STEPS else k * step
        removed = np.zeros(n, bool)
        removed[order[:count]] = True
        removed = removed.reshape(cam.shape)[None]
        dels.append(np.where(removed, base_del, x))
        inss.append(np.where(removed, x, base_ins))
    d = probability(model, np.stack(dels), cls)
    i = probability(model, np.stack(inss), cls)
    grid = np.linspace(0, 1, STEPS + 1)
    return d, i, float(np.trapz(d, grid)), float(np.trapz(i, grid))


NEIGHBOURS = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def impute(x, removed):
    """Noiseless linear imputation: each removed pixel = weighted mean of its in-image neighbours."""
    h, w = removed.shape
    idx = -np.ones((h, w), int)
    pts = np.argwhere(removed)
    idx[removed] = np.arange(len(pts))
    A = sp.lil_matrix((len(pts), len(pts)))
    b = np.zeros((len(pts), 3))
    for v, (y, xx) in enumerate(pts):
        total = 0.0
        for (dy, dx), wt in NEIGHBOURS:
            yy, xc = y + dy, xx + dx
            if not (0 <= yy < h and 0 <= xc < w):
                continue
            total += wt
            if removed[yy, xc]:
                A[v, idx[yy, xc]] = -wt
            else:
                b[v] += wt * x[:, yy, xc]
        A[v, v] = total
    sol = spla.spsolve(sp.csc_matrix(A), b)
    out = x.astype(np.float64).copy()
    out[:, removed] = np.asarray(sol).reshape(len(pts), 3).T
    return out.astype(np.float32)


def road(model, x, cam, cls, p0):
    res = {}
    for name, key in (('morf', cam), ('lerf', (1 - cam).astype(np.float32))):
        scores = []
        for q in range(10, 100, 10):
            removed = key >= np.percentile(key, q)
            scores.append(float(probability(model, impute(x, removed)[None], cls)[0] - p0))
        res[name] = scores
    return res


def blob_map(box):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    m = np.exp(-(((xx - cx) / 5) ** 2 + ((yy - cy) / 5) ** 2) / 2)
    return (m / m.max()).astype(np.float32)


def random_map(seed):
    rng = np.random.default_rng(seed)
    small = rng.random((4, 4)).astype(np.float32)
    m = cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    return ((m - m.min()) / (m.max() - m.min())).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    model = build_model()
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), os.path.join(OUT, 'tiny-cnn.onnx'),
                      input_names=['input'], output_names=['logits'], opset_version=17,
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    boxes = json.load(open(os.path.join(ROOT, 'models', 'digits', 'samples', 'boxes.json')))['images']
    cases = []
    for s in range(3):
        name = f'sample-{s}.png'
        bgr = cv2.imread(os.path.join(ROOT, 'models', 'digits', 'samples', name))
        rgb = cv2.cvtColor(cv2.resize(bgr, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        x = ((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).astype(np.float32).copy()
        box = [int(round(v * SIZE / 224)) for v in boxes[name]['box']]
        with torch.no_grad():
            cls = int(model(torch.from_numpy(x)[None]).argmax())
        p0 = float(probability(model, x[None], cls)[0])
        maps = {'blob': blob_map(box), 'random': random_map(s)}
        np.save(os.path.join(OUT, f'input-{s}.npy'), x)
        for mname, cam in maps.items():
            np.save(os.path.join(OUT, f'map-{s}-{mname}.npy'), cam)
            # Average Drop (ad.py): un-normalise, zero where map <= 0.5, re-normalise.
            keep = (cam > 0.5)[None]
            unnorm = x * STD[:, None, None] + MEAN[:, None, None]
            masked = ((unnorm * keep - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32)
            o = float(probability(model, masked[None], cls)[0])
            # Average Increase (ai.py): map > 0.3 over the tensor filled with the mean values.
            mean_tensor = np.broadcast_to(MEAN[:, None, None], x.shape).astype(np.float32)
            inserted = np.where((cam > 0.3)[None], x, mean_tensor)
            p_ins, p_base = probability(model, np.stack([inserted, mean_tensor]), cls)
            case = {
                'sample': s, 'map': mname, 'classIndex': cls, 'box': box, 'baseProbability': p0,
                'averageDrop': {'maskedProbability': o, 'drop': (p0 - o) / p0 * 100,
                                'increase': float(p_ins - p_base)},
                'deletionInsertion': {},
                'confidenceChange': float(probability(model, (x * cam[None])[None], cls)[0] - p0),
                'road': road(model, x, cam, cls, p0),
            }
            for bd, bi in (('zero', 'zero'), ('black', 'blur'), ('mean', 'mean')):
                d, i, da, ia = curves(model, x, cam, cls, baseline(x, bd), baseline(x, bi))
                case['deletionInsertion'][f'{bd}/{bi}'] = {'deletion': d.tolist(), 'insertion': i.tolist(),
                                                          'deletionAuc': da, 'insertionAuc': ia}
            peak = int(np.argmax(cam))
            px, py = peak % SIZE, peak // SIZE
            inside = np.zeros_like(cam, bool)
            inside[box[1]:box[3], box[0]:box[2]] = True
            case['pointing'] = {'hit': bool(box[0] <= px < box[2] and box[1] <= py < box[3]),
                                'energy': float(cam[inside].sum() / cam.sum())}
            cases.append(case)
        a, b = maps['blob'].astype(np.float64), maps['random'].astype(np.float64)
        cases.append({'sample': s, 'ssim': float(structural_similarity(a, b, data_range=1.0)),
                      'mse': float(np.mean((a - b) ** 2))})
    # One larger imputation (112x112, 90% removed by MoRF at percentile 10 of a blob map): big
    # holes, where the iterative solve needs its coarse-grid start.
    bgr = cv2.resize(cv2.imread(os.path.join(ROOT, 'models', 'digits', 'samples', 'sample-0.png')), (112, 112), interpolation=cv2.INTER_AREA)
    x112 = ((cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).astype(np.float32).copy()
    yy, xx = np.mgrid[0:112, 0:112]
    cam112 = np.exp(-(((xx - 18) / 15) ** 2 + ((yy - 12) / 15) ** 2) / 2).astype(np.float32)
    np.save(os.path.join(OUT, 'input112.npy'), x112)
    np.save(os.path.join(OUT, 'map112.npy'), cam112)
    np.save(os.path.join(OUT, 'impute112-q10.npy'), impute(x112, cam112 >= np.percentile(cam112, 10)))
    blur_check = blur(np.load(os.path.join(OUT, 'input-0.npy')))
    np.save(os.path.join(OUT, 'blur-0.npy'), blur_check)
    json.dump({'size': SIZE, 'steps': STEPS, 'cases': cases}, open(os.path.join(OUT, 'expected.json'), 'w'), indent=1)
    print(f'wrote {len(cases)} cases to {OUT}')


if __name__ == '__main__':
    main()
