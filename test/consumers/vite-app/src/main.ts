// A Vite app (the vanilla-ts template's shape) that explains an image with the installed
// package: no ONNX Runtime paths configured, no Vite options. The consumer test reads
// window.camReport.
import { createExplainer } from 'webgpu-cam/browser';

interface CamReport {
  backend?: string;
  classIndex?: number;
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  error?: string;
}

declare global {
  interface Window {
    camReport?: CamReport;
  }
}

async function explain(): Promise<CamReport> {
  const backend = new URLSearchParams(location.search).get('backend') === 'cpu' ? 'cpu' : 'auto';
  const explainer = await createExplainer({ model: '/digits-resnet.onnx', metadata: '/model.json', backend });
  const image = await createImageBitmap(await (await fetch('/sample-0.png')).blob());
  const result = await explainer.explain(image, { method: 'gradcam' });
  const map = result.toFloat32Array();
  let min = Infinity;
  let max = -Infinity;
  for (const v of map) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const report = { backend: explainer.backend, classIndex: result.classIndex, width: result.width, height: result.height, min, max };
  explainer.dispose();
  return report;
}

const app = document.querySelector<HTMLDivElement>('#app')!;
explain()
  .then((report) => {
    window.camReport = report;
    app.textContent = `class ${report.classIndex} on ${report.backend}`;
  })
  .catch((error: Error) => {
    window.camReport = { error: `${error.name}: ${error.message}` };
    app.textContent = window.camReport.error ?? '';
  });
