/**
 * The `webgpu-cam` command line. Errors are printed as one line, `webgpu-cam: <message>`, so
 * batch jobs get a readable log; WEBGPU_CAM_DEBUG=1 adds the stack trace.
 */
import { version } from '../../package.json';
import {
  CamError,
  InputFormatError,
  InputRangeError,
  InvalidOptionError,
  NonFiniteInputError,
  ShapeMismatchError,
} from '../engine/errors.js';
import { UsageError } from './args.js';
import { BENCH_HELP, runBench } from './bench.js';
import { CAM_HELP, runCam } from './cam.js';
import { EVALUATE_HELP, runEvaluate } from './evaluate.js';
import { EXPLAIN_HELP, runExplain } from './explain.js';
import { MERGE_HELP, runMerge } from './merge.js';
import { ImageFormatError, ModelFormatError, UnknownLayerError, UnsupportedOpError } from '../engine/model/errors.js';
import { ExitRequest, exitWithParent } from './gpu-environment.js';

const HELP = `Usage: webgpu-cam <command> [options]

Class activation maps (CF-CAM, Grad-CAM family, Eigen-CAM, Score-CAM, ClusCAM, Soft-CAM) on the GPU with WebGPU.

Commands:
  explain  explain an ONNX classifier's prediction on an image (overlay PNG), or on a
           folder of them (--images DIR --out-dir OUT: maps, overlays, a manifest)
  cam      compute maps from activations/gradients .npy files
  bench    GPU vs CPU throughput and per-kernel GPU times
  evaluate faithfulness / robustness / pointing metrics of methods over a folder of images
  merge    combine the shard manifests of a folder job (explain --images --shard i/n)

Run 'webgpu-cam <command> --help' for a command's options.
  -h, --help       this help
  -V, --version    print the version

Environment: WEBGPU_CAM_DEBUG=1 prints stack traces with errors.`;

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; help: string }> = {
  explain: { run: runExplain, help: EXPLAIN_HELP },
  cam: { run: runCam, help: CAM_HELP },
  bench: { run: runBench, help: BENCH_HELP },
  evaluate: { run: runEvaluate, help: EVALUATE_HELP },
  merge: { run: runMerge, help: MERGE_HELP },
};

/** Bad command lines and bad inputs exit 2; everything else (device, GPU, I/O) exits 1. */
const BAD_INPUT_ERRORS = [
  UsageError,
  InputFormatError,
  ShapeMismatchError,
  NonFiniteInputError,
  InputRangeError,
  InvalidOptionError,
  ImageFormatError,
  ModelFormatError,
  UnknownLayerError,
  UnsupportedOpError,
];

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    console.log(HELP);
    return 0;
  }
  if (command === 'help') {
    console.log(rest[0] && COMMANDS[rest[0]] ? COMMANDS[rest[0]].help : HELP);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    console.log(version);
    return 0;
  }
  if (command === undefined) throw new UsageError("missing command; run 'webgpu-cam --help'");
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) throw new UsageError(`unknown command '${command}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
  return entry.run(rest);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function report(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`webgpu-cam: ${oneLine(message) || (error as Error)?.name || 'unknown error'}\n`);
  if (process.env.WEBGPU_CAM_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  if (error instanceof CamError && BAD_INPUT_ERRORS.some((type) => error instanceof type)) return 2;
  return 1;
}

/**
 * Exits explicitly: Dawn keeps handles open that would hold the event loop. stdout/stderr are
 * flushed first (a pipe may still hold output when the command ends).
 */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// A failure outside the awaited chain (e.g. a device-lost callback) gets the same treatment.
process.on('uncaughtException', (error) => exit(report(error)));
process.on('unhandledRejection', (error) => exit(report(error)));

exitWithParent();
main(process.argv.slice(2)).then(exit, (error: unknown) => exit(error instanceof ExitRequest ? error.code : report(error)));
