/** Deletion / insertion curves as a small inline SVG line chart (the HTML report, the demo). */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Curves (one per method) as an inline SVG line chart over the perturbed fraction [0, 1]. */
export function curveSvg(title: string, series: { label: string; values: number[] }[], width = 360, height = 240): string {
  const m = { l: 40, r: 10, t: 24, b: 30 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const x = (i: number, n: number) => m.l + (w * i) / Math.max(1, n - 1);
  const y = (v: number) => m.t + h * (1 - Math.min(1, Math.max(0, v)));
  const paths = series
    .map((s, k) => {
      const d = s.values.map((v, i) => `${i ? 'L' : 'M'}${x(i, s.values.length).toFixed(1)},${y(v).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="1.5"><title>${esc(s.label)}</title></path>`;
    })
    .join('');
  const ticks = [0, 0.5, 1]
    .map((t) => `<text x="${m.l - 4}" y="${y(t) + 4}" font-size="10" text-anchor="end">${t}</text><text x="${x(t * 100, 101)}" y="${height - 12}" font-size="10" text-anchor="middle">${t}</text>`)
    .join('');
  const legend = series.map((s, k) => `<text x="${m.l + w - 4}" y="${m.t + 12 + 12 * k}" font-size="10" text-anchor="end" fill="${PALETTE[k % PALETTE.length]}">${esc(s.label)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><text x="${width / 2}" y="14" font-size="12" text-anchor="middle">${esc(title)}</text><rect x="${m.l}" y="${m.t}" width="${w}" height="${h}" fill="none" stroke="#999"/>${ticks}${paths}${legend}</svg>`;
}
