/**
 * The import graph of the TypeScript sources: which module loads which when the program runs,
 * and optionally which imports types from which. Type-only imports (`import type`, `export type`,
 * imports whose names are all marked `type`) are erased by TypeScript, so they are run-time edges
 * only when asked for.
 */
import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function typeOnly(clause: string): boolean {
  const braces = clause.match(/^\{([\s\S]*)\}$/);
  if (!braces) return false;
  const names = braces[1].split(',').map((n) => n.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

function resolveModule(from: string, spec: string): string | undefined {
  const bare = spec.split('?')[0];
  const base = path.resolve(path.dirname(from), bare);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Module -> the modules it loads at run time (with `types`: also those it imports types from), for every .ts file under `root`. */
export function importGraph(root: string, options: { types?: boolean } = {}): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourcesUnder(root)) {
    const text = fs.readFileSync(file, 'utf8');
    const edges = new Set<string>();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[4] ?? m[5] ?? m[6];
      if (!options.types && m[4] && (m[2] || typeOnly(m[3].trim()))) continue;
      const target = resolveModule(file, spec);
      if (target) edges.add(target);
    }
    graph.set(file, [...edges]);
  }
  return graph;
}

/** Every import circle, each as the list of modules around it (depth-first search). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}
