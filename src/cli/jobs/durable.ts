/**
 * Files that survive `kill -9` at any instant: outputs are written to a temporary file in the
 * same folder, flushed to disk and renamed over the final name (a reader sees the old file or
 * the whole new one, never a part); the manifest is an append-only log whose lines are each
 * written with one write() and fsync'd. A line torn by a crash (no final newline) is cut off
 * when the log is opened again.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { OutputError } from '../tensors.js';

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.message ?? String(error));
}

/** Every byte of `bytes` with as many write() calls as the kernel needs (one for small buffers). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** This host's name, made safe for a file name (shards of one job may run on many hosts). */
function writerHost(): string {
  return hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host';
}

/**
 * The temporary name of `file`'s next version. With one writer per file (a shard's outputs) it
 * is fixed per file, so a run that is killed leaves at most one, which the rerun (that redoes
 * the file) overwrites and renames. With concurrent writers (the last shards of a job merging
 * together) each process gets its own (`.NAME.HOST-PID.partial`): two writers sharing one
 * temporary file would truncate each other's bytes and the second rename would find it gone.
 */
export function temporaryName(file: string, concurrentWriters = false): string {
  const suffix = concurrentWriters ? `.${writerHost()}-${process.pid}.partial` : '.partial';
  return path.join(path.dirname(file), `.${path.basename(file)}${suffix}`);
}

/**
 * Removes the per-process temporary files of `file` (see temporaryName) that processes of this
 * host which no longer run left behind (a merge killed mid-write). Others' are left alone: they
 * may be writing now, or on another host whose processes cannot be checked from here.
 */
export function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const prefix = `.${base}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const match = /^(.+)-(\d+)$/.exec(name.slice(prefix.length, -'.partial'.length));
    if (!match || match[1] !== writerHost() || processRuns(Number(match[2]))) continue;
    rmSync(path.join(dir, name), { force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes `bytes` to `file` atomically (temporary file, fsync, rename); creates its folder.
 * `concurrentWriters`: other processes may write the same file at the same time (with the same
 * bytes); see temporaryName.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array, options: { concurrentWriters?: boolean } = {}): void {
  const temporary = temporaryName(file, options.concurrentWriters);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const fd = openSync(temporary, 'w');
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    throw new OutputError(`cannot write ${file}: ${describe(error)}`);
  }
}

/** An append-only file of lines; see the module comment. */
export class AppendLog {
  private constructor(
    readonly file: string,
    private fd: number,
  ) {}

  /**
   * Opens (creating) `file` and returns it with its complete lines; a torn last line is cut off
   * the file first, so the next append starts on a line of its own.
   */
  static open(file: string): { log: AppendLog; lines: string[]; tornBytes: number } {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputError(`cannot read ${file}: ${describe(error)}`);
    }
    const complete = text.lastIndexOf('\n') + 1;
    const tornBytes = Buffer.byteLength(text.slice(complete));
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      if (tornBytes > 0) truncateSync(file, Buffer.byteLength(text.slice(0, complete)));
      const fd = openSync(file, 'a');
      const lines = text.slice(0, complete).split('\n').slice(0, -1);
      return { log: new AppendLog(file, fd), lines, tornBytes };
    } catch (error) {
      throw new OutputError(`cannot open ${file}: ${describe(error)}`);
    }
  }

  /** Appends one line (no newline inside) with a single write, then fsyncs. */
  append(line: string): void {
    if (line.includes('\n')) throw new RangeError('AppendLog.append: a line must not contain a newline');
    const bytes = Buffer.from(`${line}\n`);
    try {
      const written = writeSync(this.fd, bytes);
      if (written !== bytes.length) throw new Error(`short write (${written} of ${bytes.length} bytes)`);
      fsyncSync(this.fd);
    } catch (error) {
      throw new OutputError(`cannot append to ${this.file}: ${describe(error)}`);
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
