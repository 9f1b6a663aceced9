/**
 * WebGPU flag values (fixed by the spec). Defined here because the `GPUBufferUsage` family of
 * globals does not exist in Node until Dawn is loaded, and modules must import without them.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

/** GPUTextureUsage values. */
export const TextureUsage = {
  COPY_SRC: 0x01,
  COPY_DST: 0x02,
  TEXTURE_BINDING: 0x04,
  STORAGE_BINDING: 0x08,
  RENDER_ATTACHMENT: 0x10,
} as const;

export const ShaderStage = { COMPUTE: 0x4 } as const;
export const MapMode = { READ: 0x0001 } as const;
