/** Downloads from the demo: the overlay as PNG, the map as .npy. */
function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function downloadCanvasPng(canvas: HTMLCanvasElement, name: string): Promise<void> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the canvas as PNG');
  download(blob, name);
}

export function downloadBytes(bytes: Uint8Array, name: string): void {
  download(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }), name);
}
