#!/usr/bin/python3
"""Generate src/engine/jet-table.ts: OpenCV's COLORMAP_JET as a 256-entry RGB table.

Run with Debian's Python (OpenCV 4.6):  /usr/bin/python3 models/testing/make_jet_table.py

cv2.applyColorMap returns BGR; the table is written as RGB triples (entry i is the colour
of uint8 level i). A few entries are also written as JET_SPOT_CHECKS so the tests can check
the table against values read straight from cv2 when this script ran.
"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'src', 'engine', 'jet-table.ts')
SPOTS = [0, 1, 31, 32, 64, 95, 96, 127, 128, 159, 160, 191, 192, 223, 224, 254, 255]

bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, :]
rgb = bgr[:, ::-1].astype(int)

lines = [
    '// GENERATED FILE, do not edit: written by models/testing/make_jet_table.py from',
    f'// OpenCV {cv2.__version__} cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET),',
    '// converted from BGR to RGB.',
    '',
    '/** OpenCV COLORMAP_JET, RGB: entries 3*i, 3*i+1, 3*i+2 are the colour of uint8 level i. */',
    'export const JET_RGB: Uint8Array = new Uint8Array([',
]
for start in range(0, 256, 8):
    row = ', '.join(f'{r}, {g}, {b}' for r, g, b in rgb[start:start + 8])
    lines.append(f'  {row},')
lines.append(']);')
lines.append('')
lines.append('/** [level, r, g, b] read from cv2 by the generator (BGR reversed), for tests. */')
lines.append('export const JET_SPOT_CHECKS: ReadonlyArray<readonly [number, number, number, number]> = [')
for i in SPOTS:
    b, g, r = (int(v) for v in bgr[i])
    lines.append(f'  [{i}, {r}, {g}, {b}],')
lines.append('];')
lines.append('')
with open(OUT, 'w') as f:
    f.write('\n'.join(lines))
print('wrote', os.path.normpath(OUT))
