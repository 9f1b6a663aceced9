#!/usr/bin/python3
"""Make the tiny ONNX model used by test/session.test.ts (the ORT session wrapper's test).

Run with Debian's Python (torch 1.13):  /usr/bin/python3 models/testing/make_session_model.py

Writes test/fixtures/session/:
  tiny-cnn.onnx  opset 17; input `input` float32 [1,3,32,32]; outputs `logits` [1,10] and
                 `features` [1,16,8,8] (the last conv block's ReLU, a 4-D layer a CAM would use)
  input.npy      a fixed random input
  logits.npy, features.npy  torch's outputs for input.npy (float32)
"""
import os

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'session')


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        features = self.body(x)
        logits = self.fc(features.mean(dim=(2, 3)))
        return logits, features


model = TinyCnn().eval()
with torch.no_grad():
    bn = model.body[1]
    bn.running_mean.uniform_(-0.2, 0.2)
    bn.running_var.uniform_(0.5, 1.5)
x = torch.randn(1, 3, 32, 32)
with torch.no_grad():
    logits, features = model(x)

os.makedirs(OUT, exist_ok=True)
torch.onnx.export(
    model, (x,), os.path.join(OUT, 'tiny-cnn.onnx'), opset_version=17,
    input_names=['input'], output_names=['logits', 'features'], do_constant_folding=True,
)
np.save(os.path.join(OUT, 'input.npy'), x.numpy().astype(np.float32))
np.save(os.path.join(OUT, 'logits.npy'), logits.numpy().astype(np.float32))
np.save(os.path.join(OUT, 'features.npy'), features.numpy().astype(np.float32))
print('wrote', os.path.normpath(OUT), logits.shape, features.shape)
