#!/usr/bin/python3
"""Parity fixtures for Score-CAM and ClusCAM on the bundled digits model.

    OMP_NUM_THREADS=1 /usr/bin/python3 models/parity/make_fixtures.py [--out test/fixtures/parity]

An independent NumPy / scikit-learn implementation of the two model-scored methods of
/work/shared/spec/cluscam.md (written here from that text, not from the engine's TypeScript):
the model `models/digits/digits-resnet.onnx` is evaluated with models/digits/export.py's
`run_numpy` (a NumPy ONNX evaluator; no ONNX Runtime), target layer = model.json's
`feature_layer` (activations [1,256,7,7]), class = top-1 of the unmasked image.

Writes to --out:
  meta.json                     every case: image, class, base logit, parameters, intermediate
                                values (Score-CAM scores, ClusCAM seeds/assignments/deltas/alphas)
                                and the exact definitions used
  <case>.npy                    the final map of each case, float32 [224,224], values in [0,1]

See models/parity/README.md. test/parity.test.ts runs the engine (GPU and CPU) on the same images
through ModelExplainer and compares.
"""

import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')  # the machine is shared

import argparse  # noqa: E402
import json
import platform
import sys
import time

import cv2
import numpy as np
import onnx
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DIGITS = os.path.join(ROOT, 'models', 'digits')
sys.path.insert(0, DIGITS)
from export import run_numpy  # noqa: E402  (the project's NumPy ONNX evaluator)

MODEL_PATH = os.path.join(DIGITS, 'digits-resnet.onnx')
MODEL_JSON = os.path.join(DIGITS, 'model.json')
DEFAULT_OUT = os.path.join(ROOT, 'test', 'fixtures', 'parity')

# The cases: (case name, image relative to the repository root, method, parameters).
# sample-0 and sample-2 (both correctly classified). K=10 on sample-0 and K=5 on sample-2 rather
# than the other way round: with K=5 on sample-0 the drop threshold sits 0.004 logits from a tie;
# here the closest call is 0.055 logits (meta.json drop_margin), and the K-Means assignments
# have wide margins (assignment_margin), so float32 / ONNX Runtime noise in the activations and
# logits (~1e-5) cannot move a channel to another cluster or change which clusters are dropped.
CASES = [
    ('sample-0-scorecam', 'models/digits/samples/sample-0.png', 'scorecam', {}),
    ('sample-0-cluscam-k10', 'models/digits/samples/sample-0.png', 'cluscam',
     {'clusters': 10, 'dropRatio': 0.5, 'temperature': 0.5}),
    ('sample-2-scorecam', 'models/digits/samples/sample-2.png', 'scorecam', {}),
    ('sample-2-cluscam-k5', 'models/digits/samples/sample-2.png', 'cluscam',
     {'clusters': 5, 'dropRatio': 0.5, 'temperature': 0.5}),
]
SCORE_BATCH = 16  # masked copies per run_numpy call (its graph evaluation takes a batch dim)

DEFINITIONS = {
    'preprocess': 'PNG -> RGB uint8 [224,224,3] (no resize at the model size); '
                  'x = float32((rgb / 255 - mean) / std) per channel (float64 arithmetic, one '
                  'rounding to float32), NCHW [1,3,224,224]; mean/std from model.json',
    'model': 'models/digits/export.py run_numpy on digits-resnet.onnx (float32 NumPy); '
             'activations A = the feature_layer tensor [256,7,7]; class c = argmax of the '
             'unmasked logits; f_c = raw logit (no softmax)',
    'bilinear': 'align_corners=false, no antialias: output d samples source (d + 0.5) * in/out - '
                '0.5 clamped at 0, taps floor(src) and min(floor(src) + 1, in - 1) '
                '(torch F.interpolate(mode="bilinear", align_corners=False) / cv2.resize '
                'INTER_LINEAR); separable, float64',
    'masking': 'masked input = x * M broadcast over the 3 channels of the normalised input, '
               'float32 product (M rounded to float32 first)',
    'scorecam': 'U_k = bilinear(A_k, 224x224); M_k = (U_k - min U_k) / (max U_k - min U_k + '
                '1e-8); s_k = f_c(x * M_k); w = softmax(s); cam = ReLU(sum_k w_k A_k) at 7x7; '
                'minmax(cam) with minmax(v) = (v - min) / (max - min + 1e-7) '
                '(pytorch-grad-cam scale_cam_image); bilinear to 224x224; minmax again (as '
                'pytorch-grad-cam aggregate_multi_layers, and as the engine\'s gradient-family '
                'post-processing: src/engine/reference/gradient-family.ts '
                'minmax(resize(minmax(ReLU(map)))))',
    'scorecam_note': 'the Score-CAM masks are upsampled with align_corners=TRUE, as '
                     'pytorch-grad-cam\'s ScoreCAM does (torch.nn.UpsamplingBilinear2d) and as the '
                     'engine does; every other resize is align_corners=false. '
                     '--scorecam-half-pixel switches the masks to align_corners=false.',
    'cluscam': 'U_k = bilinear(A_k, 224x224); X_k = (U_k - min) / (max - min), a constant channel '
               'stays as is (no epsilon); seeds = sklearn.cluster.kmeans_plusplus(X, K, '
               'random_state=0) indices (channel numbers); KMeans(n_clusters=K, init=X[seeds], '
               'n_init=1, algorithm="lloyd", tol=0, max_iter=300) on float64 X (strict '
               'convergence: stops when no assignment changes); cluster k is the one seeded by '
               'seeds[k]; M_k = centroid k; delta_k = f_c(x * M_k) - f_c(x); the floor(r*K) '
               'lowest deltas are dropped (-inf); alpha = softmax(delta / tau) (0 where dropped); '
               'S = ReLU(sum_k alpha_k M_k); map = (S - min S) / (max S - min S) (no epsilon; '
               'with +1e-7 the map moves by < 1e-6 here)',
}


# ----------------------------------------------------------------------------- helpers

def bilinear_taps(n_in, n_out, align_corners=False):
    d = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = d * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(d)
    else:
        src = np.maximum((d + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def resize_bilinear(a, out_h, out_w, align_corners=False):
    """[..., H, W] -> [..., out_h, out_w], float64, separable (rows then columns)."""
    a = np.asarray(a, np.float64)
    h, w = a.shape[-2:]
    r0, r1, fy = bilinear_taps(h, out_h, align_corners)
    c0, c1, fx = bilinear_taps(w, out_w, align_corners)
    left, right = a[..., :, c0], a[..., :, c1]
    cols = left + (right - left) * fx  # [..., h, out_w]
    top, bottom = cols[..., r0, :], cols[..., r1, :]
    return top + (bottom - top) * fy[:, None]


def minmax(v, eps):
    v = np.asarray(v, np.float64)
    return (v - v.min()) / (v.max() - v.min() + eps)


def softmax(v):
    v = np.asarray(v, np.float64)
    e = np.exp(v - v[np.isfinite(v)].max())
    return e / e.sum()


def load_image(rel, mean, std):
    bgr = cv2.imread(os.path.join(ROOT, rel), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != (224, 224):
        sys.exit(f'{rel}: expected a 224x224 image')
    rgb = bgr[:, :, ::-1].astype(np.float64)
    x = (rgb / 255.0 - np.asarray(mean)) / np.asarray(std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


class Model:
    def __init__(self, path, feature):
        self.onnx = onnx.load(path)
        self.feature = feature
        self.calls = 0
        self.images = 0
        self.seconds = 0.0

    def run(self, x, features=False):
        t = time.time()
        r = run_numpy(self.onnx, {'input': x}, extra=[self.feature] if features else [])
        self.seconds += time.time() - t
        self.calls += 1
        self.images += x.shape[0]
        return r

    def class_logits(self, x, masks, c):
        """f_c(x * M) for masks [n, H, W] (float32), batched."""
        out = []
        for i in range(0, masks.shape[0], SCORE_BATCH):
            m = masks[i:i + SCORE_BATCH].astype(np.float32)
            batch = (x * m[:, None, :, :]).astype(np.float32)  # [b,3,H,W]
            out.append(self.run(batch)['logits'][:, c].astype(np.float64))
        return np.concatenate(out)


def check_resize():
    """Our bilinear against torch and OpenCV on random data (up- and down-sampling)."""
    import torch
    rng = np.random.default_rng(0)
    worst_t = worst_cv = 0.0
    for (h, w, oh, ow) in [(7, 7, 224, 224), (5, 9, 31, 17), (40, 33, 12, 50)]:
        a = rng.standard_normal((3, h, w)).astype(np.float32)
        ours = resize_bilinear(a, oh, ow)
        t = torch.nn.functional.interpolate(torch.from_numpy(a)[None], size=(oh, ow), mode='bilinear',
                                            align_corners=False)[0].numpy()
        cv = np.stack([cv2.resize(p, (ow, oh), interpolation=cv2.INTER_LINEAR) for p in a])
        worst_t = max(worst_t, float(np.abs(ours - t).max()))
        worst_cv = max(worst_cv, float(np.abs(ours - cv).max()))
    a = rng.standard_normal((2, 7, 7)).astype(np.float32)
    t = torch.nn.functional.interpolate(torch.from_numpy(a)[None], size=(224, 224), mode='bilinear',
                                        align_corners=True)[0].numpy()
    worst_ac = float(np.abs(resize_bilinear(a, 224, 224, align_corners=True) - t).max())
    assert worst_t < 1e-5 and worst_cv < 1e-3 and worst_ac < 1e-5, (worst_t, worst_cv, worst_ac)
    return {'max_abs_diff_vs_torch_interpolate': worst_t, 'max_abs_diff_vs_cv2_resize': worst_cv,
            'max_abs_diff_vs_torch_align_corners_true': worst_ac,
            'note': 'cv2 INTER_LINEAR quantises its weights (fixed point), hence the larger gap'}


def lloyd_numpy(X, init, max_iter=300):
    """Plain Lloyd from `init` until no assignment changes: a cross-check of scikit-learn's."""
    centers = init.copy()
    labels = None
    xx = (X * X).sum(1)
    for it in range(1, max_iter + 1):
        d2 = xx[:, None] - 2 * X @ centers.T + (centers * centers).sum(1)[None]
        new = d2.argmin(1)
        if labels is not None and np.array_equal(new, labels):
            return labels, centers, it
        labels = new
        for k in range(centers.shape[0]):
            if np.any(labels == k):
                centers[k] = X[labels == k].mean(0)
    raise RuntimeError('Lloyd did not converge')


# ----------------------------------------------------------------------------- methods

def scorecam(model, x, A, c, align_corners):
    H, W = x.shape[2:]
    up = resize_bilinear(A, H, W, align_corners)  # [C,H,W]
    mn = up.min(axis=(1, 2), keepdims=True)
    mx = up.max(axis=(1, 2), keepdims=True)
    masks = (up - mn) / (mx - mn + 1e-8)
    s = model.class_logits(x, masks, c)
    w = softmax(s)
    cam = np.maximum(np.tensordot(w, A.astype(np.float64), axes=1), 0)  # [7,7]
    small = minmax(cam, 1e-7)
    final = minmax(resize_bilinear(small, H, W), 1e-7)
    order = np.argsort(-s)
    constant = int(np.sum((mx - mn).ravel() == 0))
    info = {
        'mask_align_corners': align_corners,
        'constant_channels': constant,
        'scores': [round(float(v), 6) for v in s],
        'top_scores': [{'channel': int(k), 'score': round(float(s[k]), 6),
                        'weight': round(float(w[k]), 8)} for k in order[:10]],
        'weights_sum': float(w.sum()),
        'weights_max': float(w.max()),
        'cam_7x7_before_minmax': [[round(float(v), 7) for v in row] for row in cam],
        'forward_passes': int(A.shape[0]),
    }
    return final, info


def cluscam(model, x, A, c, base, K, r, tau):
    C = A.shape[0]
    H, W = x.shape[2:]
    up = resize_bilinear(A, H, W)
    mn = up.min(axis=(1, 2), keepdims=True)
    mx = up.max(axis=(1, 2), keepdims=True)
    rng_ = mx - mn
    X = np.where(rng_ > 0, (up - mn) / np.where(rng_ > 0, rng_, 1), up).reshape(C, H * W)
    constant = np.flatnonzero(rng_.ravel() == 0)

    _, seeds = kmeans_plusplus(X, n_clusters=K, random_state=0)
    seeds = [int(s) for s in seeds]
    km = KMeans(n_clusters=K, init=X[seeds], n_init=1, algorithm='lloyd', tol=0, max_iter=300)
    km.fit(X)
    labels = km.labels_.astype(np.int64)
    centers = km.cluster_centers_
    # cross-checks: our own Lloyd from the same seeds, and strict convergence
    labels2, centers2, iters2 = lloyd_numpy(X, X[seeds])
    assert np.array_equal(labels, labels2), 'scikit-learn and the NumPy Lloyd disagree'
    assert np.abs(centers - centers2).max() < 1e-9
    assert km.n_iter_ < 300, 'K-Means hit max_iter'
    sizes = np.bincount(labels, minlength=K)
    assert sizes.min() > 0, 'empty cluster'
    for k in range(K):
        assert np.abs(centers[k] - X[labels == k].mean(0)).max() < 1e-9

    # how safe the assignments are: gap between nearest and second-nearest squared distance
    d2 = ((X[:, None, :] - centers[None]) ** 2).sum(-1)  # [C,K]
    part = np.sort(d2, axis=1)
    gap = part[:, 1] - part[:, 0]
    worst = int(gap.argmin())

    masks = centers.reshape(K, H, W)
    masked = model.class_logits(x, masks, c)
    delta = masked - base
    n_drop = int(np.floor(r * K))
    order = np.argsort(delta, kind='stable')
    dropped = sorted(int(k) for k in order[:n_drop])
    # distance of the drop threshold from a tie (last dropped vs first kept delta)
    drop_margin = float(delta[order[n_drop]] - delta[order[n_drop - 1]]) if n_drop > 0 else None
    z = delta / tau
    z[dropped] = -np.inf
    alpha = softmax(z)
    S = np.maximum(np.tensordot(alpha, masks, axes=1), 0)
    final = (S - S.min()) / (S.max() - S.min())
    info = {
        'seed_channels': seeds,
        'assignments': [int(v) for v in labels],
        'cluster_sizes': [int(v) for v in sizes],
        'iterations_sklearn_n_iter': int(km.n_iter_),
        'iterations_numpy_lloyd': iters2,
        'inertia': float(km.inertia_),
        'assignment_margin': {
            'min_gap_squared_distance': float(gap[worst]),
            'channel': worst,
            'nearest_squared_distance': float(part[worst, 0]),
            'relative_gap': float(gap[worst] / part[worst, 0]) if part[worst, 0] > 0 else None,
            'note': 'smallest (second-nearest - nearest) squared distance over the channels, '
                    'in units of the [0,1] maps over 224*224 pixels',
        },
        'constant_channels': [int(k) for k in constant],
        'masked_logits': [float(v) for v in masked],
        'deltas': [float(v) for v in delta],
        'dropped': dropped,
        'drop_margin': drop_margin,
        'alphas': [float(v) for v in alpha],
        'mask_max': [float(m.max()) for m in masks],
        'S_min': float(S.min()),
        'S_max': float(S.max()),
        'forward_passes': K,
    }
    return final, info


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--scorecam-half-pixel', action='store_true',
                    help='upsample Score-CAM masks with align_corners=false instead of true '
                         '(pytorch-grad-cam and the engine use true)')
    args = ap.parse_args()
    started = time.time()
    os.makedirs(args.out, exist_ok=True)
    with open(MODEL_JSON) as f:
        mj = json.load(f)
    feature = mj['feature_layer']['name']
    model = Model(MODEL_PATH, feature)
    resize_check = check_resize()

    cache = {}
    cases = []
    for name, rel, method, params in CASES:
        t0 = time.time()
        if rel not in cache:
            x = load_image(rel, mj['mean'], mj['std'])
            r = model.run(x, features=True)
            logits = r['logits'][0].astype(np.float64)
            A = r[feature][0]
            assert A.shape == tuple(mj['feature_layer']['shape'][1:]), A.shape
            cache[rel] = (x, logits, A)
        x, logits, A = cache[rel]
        c = int(np.argmax(logits))
        base = float(logits[c])
        if method == 'scorecam':
            final, info = scorecam(model, x, A, c, not args.scorecam_half_pixel)
        else:
            final, info = cluscam(model, x, A, c, base, params['clusters'], params['dropRatio'],
                                  params['temperature'])
        final = final.astype(np.float32)
        assert final.shape == (224, 224) and np.isfinite(final).all()
        assert abs(float(final.max()) - 1) < 1e-5 and float(final.min()) == 0.0
        np.save(os.path.join(args.out, f'{name}.npy'), final)
        seconds = time.time() - t0
        cases.append({
            'name': name,
            'image': rel,
            'map': f'{name}.npy',
            'method': method,
            'class_index': c,
            'logits': [float(v) for v in logits],
            'base_logit': base,
            'layer': feature,
            'layer_shape': list(A.shape),
            'parameters': params,
            'map_stats': {'mean': float(final.mean()), 'argmax': [int(v) for v in np.unravel_index(
                final.argmax(), final.shape)]},
            'seconds': round(seconds, 2),
            **{('scorecam' if method == 'scorecam' else 'cluscam'): info},
        })
        print(f'{name}: class {c} (logit {base:.5f}), {seconds:.1f} s', flush=True)

    total = time.time() - started
    meta = {
        'generator': 'models/parity/make_fixtures.py',
        'model': os.path.relpath(MODEL_PATH, ROOT),
        'model_sha256': mj['sha256'],
        'feature_layer': feature,
        'mean': mj['mean'],
        'std': mj['std'],
        'definitions': DEFINITIONS,
        'versions': {'python': platform.python_version(), 'numpy': np.__version__,
                     'scikit-learn': sklearn.__version__, 'onnx': onnx.__version__,
                     'opencv': cv2.__version__},
        'resize_check': resize_check,
        'runtime': {'seconds': round(total, 1), 'forward_calls': model.calls,
                    'forward_images': model.images, 'forward_seconds': round(model.seconds, 1),
                    'score_batch': SCORE_BATCH},
        'cases': cases,
    }
    with open(os.path.join(args.out, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'wrote {len(cases)} cases to {args.out} in {total:.1f} s '
          f'({model.images} forward images in {model.seconds:.1f} s)')


if __name__ == '__main__':
    main()
