/**
 * A small glob for `--images 'tiles/**\/*.png'` (Node 20 has no fs.glob): `*` and `?` within one
 * path segment, `[abc]` / `[a-z]` / `[!x]` classes, `**` for any number of folders. As in the
 * shell, wildcards do not match a leading dot. Matches are files only.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';

const MAGIC = /[*?[]/;

export function isGlob(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** Splits a pattern into its literal folder and the segments from the first wildcard on. */
function splitPattern(pattern: string): { base: string; rest: string[] } {
  const segments = pattern.split('/');
  let m = segments.findIndex((s) => isGlob(s));
  if (m < 0) m = segments.length - 1;
  const literal = segments.slice(0, m).join('/');
  return { base: literal === '' ? (pattern.startsWith('/') ? '/' : '.') : literal, rest: segments.slice(m).filter((s) => s !== '') };
}

/** The literal folder before the first segment with a wildcard ('.' when the pattern starts with one). */
export function globBase(pattern: string): string {
  return splitPattern(pattern).base;
}

/** One path segment's pattern as a regular expression. */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDirectory(p: string, entry: Dirent): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string, entry: Dirent): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The files matching `pattern`, as paths under its base folder (globBase) joined with '/'. */
export function globFiles(pattern: string): string[] {
  const { base, rest } = splitPattern(pattern);
  const found = new Set<string>();
  const join = (dir: string, name: string) => path.posix.join(dir, name);

  const walk = (dir: string, index: number): void => {
    const segment = rest[index];
    const last = index === rest.length - 1;
    if (segment === '**') {
      // Zero folders, then each subfolder (not hidden, not through symlinks: no cycles).
      if (last) return walkAll(dir);
      walk(dir, index + 1);
      for (const e of entries(dir)) if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name), index);
      return;
    }
    const re = segmentRegExp(segment);
    const hiddenOk = segment.startsWith('.');
    for (const e of entries(dir)) {
      if ((e.name.startsWith('.') && !hiddenOk) || !re.test(e.name)) continue;
      const p = join(dir, e.name);
      if (last) {
        if (isFile(p, e)) found.add(p);
      } else if (isDirectory(p, e)) walk(p, index + 1);
    }
  };
  const walkAll = (dir: string): void => {
    for (const e of entries(dir)) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walkAll(p);
      else if (isFile(p, e)) found.add(p);
    }
  };
  if (rest.length > 0) walk(base, 0);
  return [...found];
}
