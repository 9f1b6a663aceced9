/** The live panel: frames per second and where the time of the last frame went. */
import type { CamExplanation } from '../engine/browser/result.js';

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

export function renderPanel(table: HTMLTableElement, fpsLabel: HTMLElement, fps: number, results: CamExplanation[], backend: string): void {
  fpsLabel.textContent = fps > 0 ? fps.toFixed(1) : '–';
  const rows: [string, number][] = [];
  for (const r of results) {
    rows.push([`${r.method}: pre-processing (CPU)`, r.timings.preprocessMs]);
    rows.push([`${r.method}: model (ONNX Runtime)`, r.timings.modelMs]);
    rows.push([`${r.method}: CAM (${backend}, wall)`, r.timings.camMs]);
    for (const [stage, ms] of Object.entries(r.stageMs)) rows.push([`  ${stage} (GPU)`, ms]);
  }
  table.replaceChildren(
    ...rows.map(([name, ms]) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const b = document.createElement('td');
      a.textContent = name;
      b.textContent = `${fmt(ms)} ms`;
      tr.append(a, b);
      return tr;
    }),
  );
}
