// wgsl-preprocessor ships plain JS without types or an exports map.
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export function wgsl(strings: readonly string[] | TemplateStringsArray, ...values: unknown[]): string;
}
