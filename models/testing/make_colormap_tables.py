#!/usr/bin/python3
"""Generate src/engine/colormap-tables.ts: matplotlib colour maps as 256-entry RGB tables.

Run with Debian's Python (matplotlib >= 3.3 for 'turbo'):
    /usr/bin/python3 models/testing/make_colormap_tables.py

Each table is matplotlib's own uint8 lookup table, `cmap(np.arange(256), bytes=True)`: integer
input indexes the colour map's 256-entry LUT directly (all five maps here have N = 256), and
bytes=True is matplotlib's conversion to uint8 (`(lut * 255).astype(np.uint8)`). Alpha is dropped.
'diverging' is 'RdBu_r' (negative = blue, zero = near white at entries 127/128, positive = red).
JET is not generated here: it is OpenCV's table (models/testing/make_jet_table.py).

A few entries per map are also written as COLORMAP_SPOT_CHECKS so the tests can check the
tables against values read straight from matplotlib when this script ran.
"""
import os

import matplotlib
import numpy as np
from matplotlib import colormaps

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'src', 'engine', 'colormap-tables.ts')
# Our name -> matplotlib's name.
MAPS = [('turbo', 'turbo'), ('viridis', 'viridis'), ('inferno', 'inferno'), ('diverging', 'RdBu_r')]
SPOTS = [0, 1, 64, 127, 128, 191, 254, 255]


def table(mpl_name):
    cmap = colormaps[mpl_name]
    assert cmap.N == 256, (mpl_name, cmap.N)
    return cmap(np.arange(256), bytes=True)[:, :3].astype(int)


def const_name(name):
    return name.upper() + '_RGB'


lines = [
    '// GENERATED FILE, do not edit: written by models/testing/make_colormap_tables.py from',
    f'// matplotlib {matplotlib.__version__}: cmap(np.arange(256), bytes=True)[:, :3] for each map.',
    '',
]
for name, mpl_name in MAPS:
    rgb = table(mpl_name)
    lines.append(f"/** matplotlib '{mpl_name}', RGB: entries 3*i, 3*i+1, 3*i+2 are the colour of uint8 level i. */")
    lines.append(f'export const {const_name(name)}: Uint8Array = new Uint8Array([')
    for start in range(0, 256, 8):
        row = ', '.join(f'{r}, {g}, {b}' for r, g, b in rgb[start:start + 8])
        lines.append(f'  {row},')
    lines.append(']);')
    lines.append('')
lines.append('/** Which matplotlib colour map each generated table is. */')
lines.append('export const MATPLOTLIB_NAMES = {')
for name, mpl_name in MAPS:
    lines.append(f"  {name}: '{mpl_name}',")
lines.append('} as const;')
lines.append('')
lines.append('/** [map, level, r, g, b] read from matplotlib by the generator, for tests. */')
lines.append('export const COLORMAP_SPOT_CHECKS: ReadonlyArray<readonly [string, number, number, number, number]> = [')
for name, mpl_name in MAPS:
    cmap = colormaps[mpl_name]
    for i in SPOTS:
        r, g, b = (int(v) for v in cmap(i, bytes=True)[:3])
        lines.append(f"  ['{name}', {i}, {r}, {g}, {b}],")
lines.append('];')
lines.append('')
with open(OUT, 'w') as f:
    f.write('\n'.join(lines))
print('wrote', os.path.normpath(OUT))
