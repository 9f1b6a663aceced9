#!/usr/bin/python3
"""Train the bundled digits classifier (a ResNet-10-style network, 224x224 RGB in, 10 classes).

    /usr/bin/python3 models/digits/train.py            # full run (about 11 minutes, one core)
    /usr/bin/python3 models/digits/train.py --eval     # re-evaluate build/digits-resnet.pt

Network (``DigitsResNet``): stem conv 7x7/2 (3->32) + BN + ReLU + maxpool 3x3/2, then four
stages of one basic residual block each (two 3x3 conv + BN, identity or 1x1/2 conv + BN
shortcut, ReLU after the add), widths 32/64/128/256, strides 1/2/2/2: at 224x224 input the
stages give 56 -> 28 -> 14 -> 7; global average pool; Linear 256 -> 10. Fully convolutional up to
the pool, so it can be trained at lower resolution.

Schedule (defaults; about 11 minutes on one core of an AVX512-BF16 CPU):
  phase 1: ``--steps1`` 2800 steps of ``--batch1`` 32 samples at 128x128: random 128x128 crops
           of 224x224 renders, at native scale, each containing the digit's box (two crops per
           render, ``--crops1``), so digits have their test-time size while a step costs a
           third of a 224x224 step; the first 20% of the steps (``--curriculum``) ramp the
           generator's difficulty from 0 (big digits, no distractors, lines or blobs) to 1;
  phase 2: ``--steps2`` 300 steps of ``--batch2`` 16 full 224x224 renders at difficulty 1
           (adapts the weights and BatchNorm statistics to whole images at the export size).
AdamW (weight decay 0.05 on conv/linear weights, none on BN/bias), learning rate per phase:
linear warm-up (50 / 10 steps) to 1e-3 / 3e-4, then cosine decay to 2% of the peak. bfloat16
autocast and channels-last tensors (``--no-bf16`` for float32); weights, BN statistics and the
export are float32. Every render is a distinct generator index: renders 0..N-1 of the train split.
Accuracy is reported on held-out images 0..999 at 224x224 (held-out digits only), float32.

Deterministic: fixed seeds, one thread, ``torch.use_deterministic_algorithms(True)``.
Writes build/digits-resnet.pt (the checkpoint, not committed) and train-log.json.
"""

import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')  # one core: the machine is shared

import argparse  # noqa: E402
import json
import math
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_dataset as md  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
CHECKPOINT = os.path.join(HERE, 'build', 'digits-resnet.pt')
LOG = os.path.join(HERE, 'train-log.json')


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu2(y + identity)


class DigitsResNet(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), blocks=(1, 1, 1, 1), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layer = []
            for j in range(n):
                layer.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
            setattr(self, f'layer{i + 1}', nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.fc(self.flatten(self.avgpool(self.features(x))))


def to_tensor(imgs_uint8):
    """uint8 [N,H,W,3] RGB -> normalised float32 NCHW."""
    x = torch.from_numpy(imgs_uint8).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def crop_containing(rng, box, res, size=md.SIZE):
    """Top-left corner of a random res x res crop that contains `box` (centred on it if the
    box is larger than the crop)."""
    corner = []
    for lo, hi in ((box[0], box[2]), (box[1], box[3])):
        a, b = max(0, hi - res), min(lo, size - res)
        if a > b:  # box larger than the crop: centre it
            c = int(round((lo + hi) / 2 - res / 2))
            corner.append(min(max(c, 0), size - res))
        else:
            corner.append(int(rng.integers(a, b + 1)))
    return corner


def train_batch(start, n, res, difficulty=1.0, crops=1):
    """n training samples from renders start, start+1, ...: full 224x224 images when res is
    224, else `crops` random res x res crops (native scale) containing the digit per render.
    Returns (x, y, renders used)."""
    imgs = np.zeros((n, res, res, 3), np.uint8)
    labels = np.zeros(n, np.int64)
    renders = (n + crops - 1) // crops if res != md.SIZE else n
    rng = np.random.default_rng([md.BASE_SEED, 7, start])
    k = 0
    for r in range(renders):
        img, label, box = md.render('train', start + r, difficulty=difficulty)
        for _ in range(crops if res != md.SIZE else 1):
            if k == n:
                break
            if res == md.SIZE:
                imgs[k] = img
            else:
                x0, y0 = crop_containing(rng, box, res)
                imgs[k] = img[y0:y0 + res, x0:x0 + res]
            labels[k] = label
            k += 1
    return to_tensor(imgs), torch.from_numpy(labels), renders


@torch.no_grad()
def evaluate(model, n, res=md.SIZE, batch=50):
    model.eval()
    correct = 0
    per_class = np.zeros((10, 2), np.int64)
    for s in range(0, n, batch):
        m = min(batch, n - s)
        imgs = np.zeros((m, res, res, 3), np.uint8)
        labels = np.zeros(m, np.int64)
        for k in range(m):
            img, labels[k], _ = md.render('heldout', s + k)
            imgs[k] = img if res == md.SIZE else cv2.resize(img, (res, res),
                                                            interpolation=cv2.INTER_AREA)
        pred = model(to_tensor(imgs)).argmax(1).numpy()
        correct += int((pred == labels).sum())
        for c, p in zip(labels, pred):
            per_class[c, 0] += int(p == c)
            per_class[c, 1] += 1
    return correct / n, (per_class[:, 0] / np.maximum(per_class[:, 1], 1)).tolist()


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps1', type=int, default=2800)
    ap.add_argument('--batch1', type=int, default=32)
    ap.add_argument('--res1', type=int, default=128)
    ap.add_argument('--crops1', type=int, default=2, help='crops per render in phase 1')
    ap.add_argument('--lr1', type=float, default=1e-3)
    ap.add_argument('--steps2', type=int, default=300)
    ap.add_argument('--batch2', type=int, default=16)
    ap.add_argument('--lr2', type=float, default=3e-4)
    ap.add_argument('--curriculum', type=float, default=0.2,
                    help='fraction of phase 1 over which difficulty ramps from 0 to 1')
    ap.add_argument('--eval-n', type=int, default=md.HELDOUT_EVAL_COUNT)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-bf16', dest='bf16', action='store_false',
                    help='train in float32 (default: bfloat16 autocast, about 2x faster on CPUs '
                         'with AVX512-BF16)')
    ap.add_argument('--eval', action='store_true', help='only evaluate the saved checkpoint')
    ap.add_argument('--out', default=CHECKPOINT)
    ap.add_argument('--log', default=LOG)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    model = DigitsResNet()
    if args.eval:
        model.load_state_dict(torch.load(args.out))
        t = time.time()
        acc, pc = evaluate(model, args.eval_n)
        print(f'held-out top-1 at 224: {acc:.4f} ({args.eval_n} images, {time.time() - t:.0f} s)')
        print('per class:', ' '.join(f'{c}:{a:.2f}' for c, a in enumerate(pc)))
        return

    model = model.to(memory_format=torch.channels_last)
    nparams = sum(p.numel() for p in model.parameters())
    print(f'parameters: {nparams}')
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr1)
    phases = [('phase1', args.steps1, args.batch1, args.res1, args.lr1, 50),
              ('phase2', args.steps2, args.batch2, md.SIZE, args.lr2, 10)]
    run_args = {k: v for k, v in vars(args).items() if k not in ('out', 'log', 'eval')}
    log = {'args': run_args, 'parameters': nparams, 'phases': [], 'curve': []}
    t0 = time.time()
    image = 0
    for name, steps, batch, res, peak, warmup in phases:
        tp = time.time()
        run_loss, run_acc, run_n = 0.0, 0.0, 0
        for step in range(steps):
            model.train()
            lr = lr_at(step, steps, peak, warmup)
            for g in opt.param_groups:
                g['lr'] = lr
            diff = 1.0
            if name == 'phase1' and args.curriculum > 0:
                diff = min(1.0, step / (args.curriculum * steps))
            x, y, used = train_batch(image, batch, res, diff,
                                     args.crops1 if name == 'phase1' else 1)
            image += used
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=args.bf16):
                out = model(x)
            loss = F.cross_entropy(out.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run_loss += loss.item()
            run_acc += (out.argmax(1) == y).float().mean().item()
            run_n += 1
            if (step + 1) % 25 == 0 or step + 1 == steps:
                el = time.time() - t0
                print(f'{name} step {step + 1}/{steps} res {res} lr {lr:.2e} '
                      f'loss {run_loss / run_n:.4f} train-acc {run_acc / run_n:.3f} '
                      f'[{el:.0f} s]', flush=True)
                log['curve'].append({'phase': name, 'step': step + 1, 'lr': lr,
                                     'loss': round(run_loss / run_n, 5),
                                     'train_acc': round(run_acc / run_n, 4),
                                     'elapsed_s': round(el, 1)})
                run_loss, run_acc, run_n = 0.0, 0.0, 0
        log['phases'].append({'name': name, 'steps': steps, 'batch': batch, 'resolution': res,
                              'peak_lr': peak, 'warmup': warmup,
                              'seconds': round(time.time() - tp, 1)})
    train_s = time.time() - t0
    log['train_renders'] = image
    log['train_seconds'] = round(train_s, 1)
    print(f'training: {image} rendered images, {train_s:.0f} s')
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    model = model.to(memory_format=torch.contiguous_format)
    torch.save(model.state_dict(), args.out)
    t = time.time()
    acc, pc = evaluate(model, args.eval_n)
    log['heldout'] = {'images': args.eval_n, 'resolution': md.SIZE, 'top1': acc,
                      'per_class_top1': [round(a, 4) for a in pc],
                      'seconds': round(time.time() - t, 1)}
    print(f'held-out top-1 at 224: {acc:.4f} ({args.eval_n} images)')
    print('per class:', ' '.join(f'{c}:{a:.2f}' for c, a in enumerate(pc)))
    with open(args.log, 'w') as f:
        json.dump(log, f, indent=1)
        f.write('\n')
    print(f'wrote {args.out} and {args.log}')


if __name__ == '__main__':
    main()
