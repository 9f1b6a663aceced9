// Registers scripts/wgsl-hooks.mjs (see there).
import { register } from 'node:module';

register('./wgsl-hooks.mjs', import.meta.url);
