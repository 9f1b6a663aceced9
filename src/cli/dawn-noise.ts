/**
 * Dawn and the Vulkan loader write diagnostics straight to the process's stderr: multi-line
 * blocks such as
 *
 *   Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file
 *       at operator() (.../dawn/native/vulkan/BackendVk.cpp:368)
 *
 * and Mesa's "error: XDG_RUNTIME_DIR is invalid or not set in the environment." lines. They say
 * nothing the user can act on once the CLI has picked a working driver (or printed its own
 * one-line error), so the re-run child's stderr goes through this filter.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** The first line of one of Dawn's warning blocks. */
const WARNING_START = /^Warning: /;
/** Continuation lines of a block: " - While ...", "    at file:line", blank lines. */
const CONTINUATION = /^( - |\s+at |\s*$)/;
/** Single lines printed by Mesa's Vulkan layers and drivers without a desktop session. */
const MESA_NOISE = /^(error|warning): XDG_RUNTIME_DIR is invalid|^MESA: |^WARNING: lavapipe is not a conformant/;

/** Keeps everything but Dawn's warning blocks and Mesa's session noise; works line by line. */
export class DawnNoiseFilter extends Transform {
  private pending = '';
  private inBlock = false;

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending += chunk.toString();
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    const kept = lines.filter((line) => this.keep(line));
    if (kept.length > 0) this.push(kept.map((line) => `${line}\n`).join(''));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pending && this.keep(this.pending)) this.push(this.pending);
    done();
  }

  private keep(line: string): boolean {
    if (WARNING_START.test(line)) {
      this.inBlock = true;
      return false;
    }
    if (this.inBlock && CONTINUATION.test(line)) return false;
    this.inBlock = false;
    return !MESA_NOISE.test(line);
  }
}

/** The message of the first Dawn warning in `stderr` ("Couldn't load Vulkan: ..."), or ''. */
export function firstDawnWarning(stderr: string): string {
  const line = stderr.split('\n').find((l) => WARNING_START.test(l));
  return line ? line.replace(WARNING_START, '').trim() : '';
}
