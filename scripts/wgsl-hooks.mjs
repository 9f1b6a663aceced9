// Node module hooks that load `*.wgsl?raw` imports as string modules, as Vite does, so scripts
// can run the engine's TypeScript sources with tsx:
//   node --import tsx --import ./scripts/wgsl-raw.mjs scripts/pointing-game.ts ...
import { readFile } from 'node:fs/promises';

export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith('.wgsl?raw')) {
    const resolved = await nextResolve(specifier.slice(0, -'?raw'.length), context);
    return { ...resolved, url: `${resolved.url}?raw`, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.endsWith('.wgsl?raw')) {
    const text = await readFile(new URL(url.slice(0, -'?raw'.length)), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
