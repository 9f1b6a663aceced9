/**
 * Live sources for the demo: a webcam stream or a video file played in a <video> element. Each
 * animation frame, if the previous explanation has finished, the current frame is grabbed and
 * explained; frames that arrive while one is being explained are skipped (the demo explains
 * every frame it can keep up with, never a backlog).
 */
export interface LiveLoop {
  stop(): void;
}

export async function openWebcam(video: HTMLVideoElement): Promise<void> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access (navigator.mediaDevices is missing; pages must be served over https or localhost)');
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  await video.play();
}

export async function openVideoFile(video: HTMLVideoElement, file: File): Promise<void> {
  video.srcObject = null;
  video.src = URL.createObjectURL(file);
  video.loop = true;
  await video.play();
}

/** Run `explainFrame` on the video's frames back to back until stop(). */
export function startLiveLoop(video: HTMLVideoElement, explainFrame: (frame: ImageBitmap) => Promise<void>, onError: (error: unknown) => void): LiveLoop {
  let running = true;
  let busy = false;
  const tick = () => {
    if (!running) return;
    if (!busy && video.readyState >= 2 && video.videoWidth > 0) {
      busy = true;
      createImageBitmap(video)
        // A frame grabbed just before stop() is dropped, not explained over the user's next choice.
        .then((frame) => (running ? explainFrame(frame) : frame.close()))
        .catch((error: unknown) => {
          loop.stop();
          onError(error);
        })
        .finally(() => {
          busy = false;
        });
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const loop = {
    stop() {
      running = false;
      const stream = video.srcObject as MediaStream | null;
      stream?.getTracks().forEach((t) => t.stop());
      video.pause();
      if (video.src.startsWith('blob:')) URL.revokeObjectURL(video.src);
      video.removeAttribute('src');
      video.srcObject = null;
    },
  };
  return loop;
}

/** Frames per second over a sliding window of recent completions. */
export class FpsMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 2000) {}
  tick(now = performance.now()): void {
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0] > this.windowMs) this.times.shift();
  }
  get fps(): number {
    if (this.times.length < 2) return 0;
    return ((this.times.length - 1) * 1000) / (this.times[this.times.length - 1] - this.times[0]);
  }
}
