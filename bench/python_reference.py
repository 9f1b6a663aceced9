"""Times CF-CAM computed the way the public Python reference computes it (numpy norms and
distance matrix, numpy percentiles, scikit-learn DBSCAN, torch filter/softmax/interpolate),
from saved activations and gradients. Written for this project from ../shared/spec/cfcam.md;
used by `npm run bench` for side-by-side ratios when torch and scikit-learn are installed.

usage: python3 bench/python_reference.py A.npy G.npy SIZE RUNS [golden_cam.npy]
prints one JSON object: {"perImageMs": median ms, "runs": RUNS, "maxDiffVsGolden": ...}
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import DBSCAN


def reference_filter(g):
    """The reference code's one-kernel 'bilateral' filter of a cluster's mean gradient map."""
    h, w = g.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    spatial = torch.exp(-((ys.float() - h / 2) ** 2 + (xs.float() - w / 2) ** 2) / (2 * 5.0**2))
    rng = torch.exp(-((g - g.mean()) ** 2) / (2 * 0.1**2))
    kernel = spatial * rng
    kernel = kernel / (kernel.sum() + 1e-6)
    return F.conv2d(g[None, None], kernel[None, None], padding="same")[0, 0]


def cfcam(activations, gradients, size):
    channels = activations.shape[0]
    flat = activations.reshape(channels, -1)
    norms = np.linalg.norm(flat, axis=1)
    important = norms >= np.percentile(norms, 75)
    rest = np.flatnonzero(~important)
    labels = np.full(channels, -2)
    if rest.size > 1:
        points = flat[rest]
        dist = np.linalg.norm(points[:, None] - points[None, :], axis=2)
        off_diagonal = dist[~np.eye(rest.size, dtype=bool)]
        eps = max(float(np.percentile(off_diagonal, 25)), 1e-5)
        min_samples = max(2, int(rest.size * 0.05))
        labels[rest] = DBSCAN(eps=eps, min_samples=min_samples).fit(points).labels_
    grads = torch.from_numpy(gradients)
    weights = torch.zeros(channels)
    weights[torch.from_numpy(important)] = grads[torch.from_numpy(important)].mean(dim=(1, 2))
    for cluster in range(labels.max() + 1):
        members = torch.from_numpy(np.flatnonzero(labels == cluster))
        weights[members] = reference_filter(grads[members].mean(dim=0)).mean()
    valid = torch.from_numpy(labels != -1)
    alpha = torch.softmax(weights[valid], dim=0)
    cam = torch.relu((alpha[:, None, None] * torch.from_numpy(activations)[valid]).sum(dim=0))
    cam = F.interpolate(cam[None, None], size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    top = cam.max()
    return (cam / top if top > 0 else cam).numpy()


def main():
    a_path, g_path, size, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    activations = np.load(a_path).astype(np.float32)
    gradients = np.load(g_path).astype(np.float32)
    if activations.ndim == 4:
        activations, gradients = activations[0], gradients[0]
    torch.set_num_threads(2)
    cam = cfcam(activations, gradients, size)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        cfcam(activations, gradients, size)
        times.append((time.perf_counter() - start) * 1000)
    result = {"perImageMs": float(np.median(times)), "runs": runs}
    if len(sys.argv) > 5:
        result["maxDiffVsGolden"] = float(np.abs(cam - np.load(sys.argv[5])).max())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
