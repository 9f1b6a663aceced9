#!/usr/bin/python3
"""Train the Soft-CAM variant of the bundled digits classifier (self-explaining: the network
itself outputs a signed class-evidence map whose spatial mean is the logit).

    /usr/bin/python3 models/softcam/train.py            # fine-tune from the standard model
    /usr/bin/python3 models/softcam/train.py --eval     # re-evaluate build/softcam-digits.pt
    /usr/bin/python3 models/softcam/train.py --from-scratch --steps 6000 --lr 0.01  # no checkpoint

Soft-CAM (Djoumessi & Berens, arXiv 2505.17748; reference code kdjoumessi/SoftCAM):
  backbone = ``DigitsResNet`` of models/digits/train.py (imported, not copied) without its global
  average pool and without its fully connected layer: stem + layer1..layer4, [256,7,7] at 224;
  evidence head = ``Conv2d(256, 10, kernel_size=1, bias=True)``: the class-evidence map
  A [10,7,7];
  logit z_c = spatial mean of A_c (AdaptiveAvgPool2d(1) + Flatten, exported as
  GlobalAveragePool + Flatten);
  loss = cross-entropy(z, y) + lambda1 * ||A[0]||_1 + lambda2 * ||A[0]||_2, the norms taken over
  the evidence map of the *first* image of each mini-batch (as the reference's
  ``torch.norm(activations[0], p)``; ``||.||_2`` is the Frobenius norm, not squared); reference
  defaults lambda1 = 0, lambda2 = 4e-5;
  optimiser: SGD, momentum 0.9, Nesterov, weight decay 5e-4 (the reference's), learning rate
  ``--lr`` (default 1e-3, the reference's) with a linear warm-up over ``--warmup`` steps and a
  cosine decay to 2% of it.

Initialisation (default): the backbone (stem, layer1..4 and BatchNorm statistics) from the
standard model's checkpoint ``models/digits/build/digits-resnet.pt`` (written by
models/digits/train.py; not committed), and the 1x1 evidence convolution from its classifier:
``weight = fc.weight[:, :, None, None]``, ``bias = fc.bias``. Since the mean over h*w of a 1x1
convolution equals the linear layer applied to the mean, the initial Soft-CAM network computes
exactly the standard model's logits; the fine-tuning then trains every weight under the Soft-CAM
loss. ``--head-init random`` starts the head from PyTorch's default initialisation instead;
``--from-scratch`` needs no checkpoint (much longer training is needed then).

Data: the standard model's generator (models/digits/make_dataset.py), train split, full 224x224
renders at difficulty 1 (the export size; the evidence map is 7x7 as at inference), batches of
``--batch`` renders starting at train render ``--start`` (default 49,600: the first index the
standard model's committed run did not use, so every fine-tuning image is new; digits are the
same 400 training cells per class). Accuracy: held-out images 0..999 at 224 (held-out digits
only), the set of models/digits/MODEL_CARD.md.

One thread, fixed seeds, ``torch.use_deterministic_algorithms(True)``, bfloat16 autocast and
channels-last as the standard model (``--no-bf16`` for float32); weights are float32.
Writes build/softcam-digits.pt (not committed) and train-log.json.
"""

import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')  # one core: the machine is shared

import argparse  # noqa: E402
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(os.path.dirname(HERE), 'digits')
sys.path.insert(0, DIGITS)
import make_dataset as md  # noqa: E402
import train as digits_train  # noqa: E402  (models/digits/train.py)

DigitsResNet = digits_train.DigitsResNet
MEAN, STD = digits_train.MEAN, digits_train.STD
to_tensor = digits_train.to_tensor

STANDARD_CHECKPOINT = digits_train.CHECKPOINT  # models/digits/build/digits-resnet.pt
CHECKPOINT = os.path.join(HERE, 'build', 'softcam-digits.pt')
LOG = os.path.join(HERE, 'train-log.json')
STANDARD_TRAIN_RENDERS = 49600  # train renders 0..49,599 were used by the standard model


class SoftCamDigits(nn.Module):
    """DigitsResNet backbone (no pool, no FC) + 1x1 conv evidence head; logits = mean(A)."""

    def __init__(self, classes=10):
        super().__init__()
        base = DigitsResNet(classes=classes)
        # backbone: everything up to layer4 (the modules DigitsResNet.features uses)
        self.conv1, self.bn1, self.relu, self.maxpool = base.conv1, base.bn1, base.relu, base.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = (base.layer1, base.layer2,
                                                              base.layer3, base.layer4)
        width = base.fc.in_features
        self.evidence = nn.Conv2d(width, classes, kernel_size=1, bias=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()

    features = DigitsResNet.features  # stem + layer1..4, same code as the standard model

    def evidence_map(self, x):
        return self.evidence(self.features(x))

    def forward_both(self, x):
        a = self.evidence_map(x)
        return self.flatten(self.avgpool(a)), a

    def forward(self, x):
        return self.forward_both(x)[0]


class SoftCamExport(nn.Module):
    """Export wrapper: outputs (logits, evidence), evidence being the 1x1 conv's output."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.forward_both(x)


def init_from_standard(model, path, head_init):
    state = torch.load(path)
    backbone = {k: v for k, v in state.items() if not k.startswith('fc.')}
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    assert not unexpected, unexpected
    assert sorted(missing) == ['evidence.bias', 'evidence.weight'], missing
    if head_init == 'fc':
        with torch.no_grad():
            model.evidence.weight.copy_(state['fc.weight'][:, :, None, None])
            model.evidence.bias.copy_(state['fc.bias'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=2400)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--warmup', type=int, default=20)
    ap.add_argument('--momentum', type=float, default=0.9)
    ap.add_argument('--weight-decay', type=float, default=5e-4)
    ap.add_argument('--lambda1', type=float, default=0.0, help='L1 weight on the evidence map')
    ap.add_argument('--lambda2', type=float, default=4e-5, help='L2 weight on the evidence map')
    ap.add_argument('--start', type=int, default=STANDARD_TRAIN_RENDERS,
                    help='first train render index')
    ap.add_argument('--init', default=STANDARD_CHECKPOINT,
                    help='standard model checkpoint to start from')
    ap.add_argument('--from-scratch', action='store_true',
                    help='random initialisation (no standard checkpoint needed)')
    ap.add_argument('--head-init', choices=['fc', 'random'], default='fc',
                    help='evidence conv from the standard model\'s fc layer, or random')
    ap.add_argument('--eval-n', type=int, default=md.HELDOUT_EVAL_COUNT)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-bf16', dest='bf16', action='store_false')
    ap.add_argument('--eval', action='store_true', help='only evaluate the saved checkpoint')
    ap.add_argument('--out', default=CHECKPOINT)
    ap.add_argument('--log', default=LOG)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    model = SoftCamDigits()
    if args.eval:
        model.load_state_dict(torch.load(args.out))
        t = time.time()
        acc, pc = digits_train.evaluate(model, args.eval_n)
        print(f'held-out top-1 at 224: {acc:.4f} ({args.eval_n} images, {time.time() - t:.0f} s)')
        print('per class:', ' '.join(f'{c}:{a:.2f}' for c, a in enumerate(pc)))
        return

    init = 'scratch'
    if not args.from_scratch:
        if not os.path.exists(args.init):
            sys.exit(f'{args.init} not found: run models/digits/train.py first (it writes the '
                     'standard checkpoint), or pass --from-scratch')
        init_from_standard(model, args.init, args.head_init)
        init = f'{os.path.relpath(args.init, os.path.dirname(HERE))} (head: {args.head_init})'
    init_acc = None
    if not args.from_scratch and args.eval_n > 0:
        t = time.time()
        init_acc, _ = digits_train.evaluate(model, args.eval_n)
        print(f'initial held-out top-1: {init_acc:.4f} [{time.time() - t:.0f} s]', flush=True)

    model = model.to(memory_format=torch.channels_last)
    nparams = sum(p.numel() for p in model.parameters())
    print(f'parameters: {nparams}; init: {init}')
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, nesterov=True,
                          weight_decay=args.weight_decay)
    run_args = {k: v for k, v in vars(args).items() if k not in ('out', 'log', 'eval', 'init')}
    log = {'args': run_args, 'init': init, 'parameters': nparams, 'curve': []}
    if init_acc is not None:
        log['initial_heldout_top1'] = init_acc
    t0 = time.time()
    image = args.start
    run = {'loss': 0.0, 'ce': 0.0, 'reg': 0.0, 'acc': 0.0, 'n': 0}
    for step in range(args.steps):
        model.train()
        lr = digits_train.lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        x, y, used = digits_train.train_batch(image, args.batch, md.SIZE)
        image += used
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=args.bf16):
            logits, ev = model.forward_both(x)
        logits, ev = logits.float(), ev.float()
        ce = F.cross_entropy(logits, y)
        reg = args.lambda1 * torch.norm(ev[0], 1) + args.lambda2 * torch.norm(ev[0], 2)
        loss = ce + reg
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run['loss'] += loss.item()
        run['ce'] += ce.item()
        run['reg'] += float(reg)
        run['acc'] += (logits.argmax(1) == y).float().mean().item()
        run['n'] += 1
        if (step + 1) % 25 == 0 or step + 1 == args.steps:
            el = time.time() - t0
            n = run['n']
            print(f'step {step + 1}/{args.steps} lr {lr:.2e} loss {run["loss"] / n:.4f} '
                  f'(ce {run["ce"] / n:.4f} reg {run["reg"] / n:.5f}) '
                  f'train-acc {run["acc"] / n:.3f} [{el:.0f} s]', flush=True)
            log['curve'].append({'step': step + 1, 'lr': lr, 'loss': round(run['loss'] / n, 5),
                                 'ce': round(run['ce'] / n, 5), 'reg': round(run['reg'] / n, 6),
                                 'train_acc': round(run['acc'] / n, 4),
                                 'elapsed_s': round(el, 1)})
            run = {'loss': 0.0, 'ce': 0.0, 'reg': 0.0, 'acc': 0.0, 'n': 0}
    train_s = time.time() - t0
    log['train_renders'] = image - args.start
    log['train_seconds'] = round(train_s, 1)
    print(f'training: {image - args.start} rendered images, {train_s:.0f} s')
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    model = model.to(memory_format=torch.contiguous_format)
    torch.save(model.state_dict(), args.out)
    if args.eval_n > 0:
        t = time.time()
        acc, pc = digits_train.evaluate(model, args.eval_n)
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
