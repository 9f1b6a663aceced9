/** One check of what a device can bind, for every kernel that allocates a large buffer. */
import { DeviceLimitError } from '../errors.js';

/** The largest buffer this device can create and bind as storage. */
export function bindableBytes(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Throw a DeviceLimitError when one buffer of `bytes` cannot be bound on `device`: `what` names
 * the buffer ("C=4096 channels' distance matrix"), `remedy` says what to do.
 */
export function assertBindable(device: GPUDevice, bytes: number, what: string, remedy: string): void {
  const limit = bindableBytes(device);
  if (bytes > limit) throw new DeviceLimitError(`${what} need ${mib(bytes)} in one buffer, above this device's ${mib(limit)} limit; ${remedy}`);
}
