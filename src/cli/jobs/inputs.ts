/**
 * The images of a folder job, from `--images`: a folder (every .png/.jpg/.jpeg below it, hidden
 * entries skipped), a glob ('tiles/**\/*.png'), a list file (.txt/.lst/.list: one path a line,
 * relative to the list's folder; '#' starts a comment) or a single image. Each input gets a
 * name: its path relative to the input root with '/' separators. Inputs are sorted by name
 * (code-unit order, not the locale's), so every machine and every shard sees the same order.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../args.js';
import { globBase, globFiles, isGlob } from './glob.js';

export interface JobInput {
  /** Path relative to the input root, '/'-separated: the manifest's `file` and the outputs' name. */
  name: string;
  /** Absolute path. */
  path: string;
}

export interface InputSet {
  kind: 'folder' | 'glob' | 'list' | 'image';
  /** Absolute folder the names are relative to. */
  root: string;
  /** Sorted by name. */
  inputs: JobInput[];
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;
const LIST_EXTENSIONS = /\.(txt|lst|list)$/i;

function statOrUndefined(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

const toPosix = (p: string) => p.split(path.sep).join('/');
const byName = (a: JobInput, b: JobInput) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function inside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Every image file below `dir`, except under `exclude` (the job's own output folder). */
function walkFolder(dir: string, exclude: string | undefined): string[] {
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (exclude && inside(exclude, p)) continue;
      if (e.isDirectory()) visit(p);
      else if (IMAGE_EXTENSIONS.test(e.name) && (e.isFile() || (e.isSymbolicLink() && statOrUndefined(p)?.isFile()))) files.push(p);
    }
  };
  visit(dir);
  return files;
}

/** The deepest folder that holds every path. */
function commonFolder(paths: string[]): string {
  let common = path.dirname(paths[0]);
  for (const p of paths) while (!inside(common, p)) common = path.dirname(common);
  return common;
}

function named(root: string, paths: string[]): JobInput[] {
  return paths.map((p) => ({ name: toPosix(path.relative(root, p)), path: p })).sort(byName);
}

function readList(file: string): string[] {
  const dir = path.dirname(file);
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '')
    .map((line) => path.resolve(dir, line));
}

/** The inputs `--images SPEC` names; `exclude` (the output folder) is never walked into. */
export function listInputs(spec: string, options: { exclude?: string } = {}): InputSet {
  const exclude = options.exclude ? path.resolve(options.exclude) : undefined;
  const stat = statOrUndefined(spec);
  let set: InputSet;
  if (stat?.isDirectory()) {
    const root = path.resolve(spec);
    set = { kind: 'folder', root, inputs: named(root, walkFolder(root, exclude)) };
    if (set.inputs.length === 0) throw new UsageError(`no .png or .jpg images in ${spec} (or its subfolders)`);
  } else if (stat?.isFile() && LIST_EXTENSIONS.test(spec)) {
    const paths = [...new Set(readList(spec))];
    if (paths.length === 0) throw new UsageError(`the list ${spec} names no images`);
    const root = commonFolder(paths);
    set = { kind: 'list', root, inputs: named(root, paths) };
  } else if (stat?.isFile()) {
    const p = path.resolve(spec);
    set = { kind: 'image', root: path.dirname(p), inputs: [{ name: path.basename(p), path: p }] };
  } else if (isGlob(spec)) {
    const root = path.resolve(globBase(spec));
    const paths = globFiles(spec).map((p) => path.resolve(p)).filter((p) => !(exclude && inside(exclude, p)));
    if (paths.length === 0) throw new UsageError(`no files match ${spec}`);
    set = { kind: 'glob', root, inputs: named(root, paths) };
  } else {
    throw new UsageError(`--images ${spec}: no such folder, list or image, and not a glob pattern`);
  }
  return set;
}

/** A fingerprint of a sorted list of names (the manifest checks it on resume and merge). */
export function namesDigest(names: readonly string[]): string {
  const hash = createHash('sha256');
  for (const n of names) hash.update(`${n}\n`);
  return hash.digest('hex');
}

/**
 * The name of an input's outputs without the extension ('a/b.png' -> 'a/b'); two inputs that
 * differ only in extension would overwrite each other's outputs and are refused.
 */
export function outputStems(inputs: readonly JobInput[]): string[] {
  const seen = new Map<string, string>();
  return inputs.map(({ name }) => {
    const stem = name.replace(/\.[^./]*$/, '');
    const other = seen.get(stem);
    if (other !== undefined) throw new UsageError(`${other} and ${name} would write the same outputs (${stem}.npy, ${stem}.png): rename one of them`);
    seen.set(stem, name);
    return stem;
  });
}
