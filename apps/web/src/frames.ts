/**
 * Frames of a user's video in the browser, sampled as `lss-eval` samples one test view (1 clip x 1 crop):
 * `planTestViews` of `@lss/data` picks the frame indices `floor(N * (i + 0.5) / T)` and the centre crop of the
 * frame resized so its short side is S; `renderView` crops, and `normalizeInPlace` applies the model's mean/std
 * (`lss_video.json`: CLIP's). Only the decoding differs:
 *
 * - Frame count and times: the browser does not expose them. The frame duration is measured from
 *   `requestVideoFrameCallback`'s `mediaTime` while the video plays muted for a few frames (snapped to a common
 *   rate within 0.5%), N = round(duration / frame duration), and frame i is shown by seeking to
 *   `(i + 0.5) * frame duration` (the middle of its display interval). ffmpeg counts the frames and selects
 *   frame i by its timestamp; for a constant-rate video the two agree.
 * - Pixels: the browser's decoder converts YUV to RGB (Chromium: libyuv) and `drawImage` resamples with its own
 *   filter (`imageSmoothingQuality = 'high'`), where the Node pipeline uses swscale's conversion and a bicubic
 *   (Keys a = -0.5) resize. A video whose short side already is S is not resampled by either; only the colour
 *   conversion differs then (the test measures it).
 */
import { DataError } from '@lss/core';
import { framesNeeded, type HostVideo, normalizeInPlace, planTestViews, type RgbFrames, renderView, type ViewPlan } from '@lss/data';

export interface SampledView {
  /** `[T, S, S, 3]` CLIP-normalised, channels-last. */
  readonly view: HostVideo;
  /** The resized frames the view was cut from, `[n, H, W, 3]` uint8, one per entry of `indices`. */
  readonly frames: RgbFrames;
  readonly indices: readonly number[];
  readonly plan: ViewPlan;
  readonly numFrames: number;
  readonly frameDuration: number;
  /** How the frame duration was found. */
  readonly timing: 'measured' | 'assumed';
  readonly width: number;
  readonly height: number;
}

const MEDIA_ERRORS: Record<number, string> = {
  1: 'MEDIA_ERR_ABORTED',
  2: 'MEDIA_ERR_NETWORK',
  3: 'MEDIA_ERR_DECODE',
  4: 'MEDIA_ERR_SRC_NOT_SUPPORTED',
};

const COMMON_RATES = [8, 10, 12, 12.5, 15, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60, 120];
const TIMEOUT_MS = 20_000;

function decodeError(video: HTMLVideoElement, name: string, type: string, stage: string): DataError {
  const err = video.error;
  const what = err ? `${MEDIA_ERRORS[err.code] ?? `code ${err.code}`}${err.message ? `: ${err.message}` : ''}` : 'no error detail';
  return new DataError(
    `This browser cannot decode ${JSON.stringify(name)} (${type || 'unknown type'}) ${stage} (${what}). Expected a video this browser plays (Chromium: WebM VP8/VP9/AV1, MP4 H.264 where the build has it). Convert it, e.g. \`ffmpeg -i input -c:v libvpx-vp9 output.webm\`, and open that.`,
  );
}

function waitFor(video: HTMLVideoElement, event: string, name: string, type: string, stage: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new DataError(
          `${JSON.stringify(name)}: the browser did not finish ${stage} within ${TIMEOUT_MS / 1000} s; expected a playable video file.`,
        ),
      );
    }, TIMEOUT_MS);
    const ok = () => {
      cleanup();
      resolve();
    };
    const fail = () => {
      cleanup();
      reject(decodeError(video, name, type, stage));
    };
    const cleanup = () => {
      clearTimeout(timer);
      video.removeEventListener(event, ok);
      video.removeEventListener('error', fail);
    };
    video.addEventListener(event, ok, { once: true });
    video.addEventListener('error', fail, { once: true });
  });
}

/** Frame duration in seconds from the media times of frames presented during a short muted playback, or undefined. */
async function measureFrameDuration(video: HTMLVideoElement): Promise<number | undefined> {
  if (typeof video.requestVideoFrameCallback !== 'function') return undefined;
  const times: number[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 4000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      times.push(meta.mediaTime);
      if (times.length >= 8 || video.ended) done();
      else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    video.addEventListener('ended', done, { once: true });
    video.play().catch(done);
  });
  video.pause();
  const deltas = times
    .slice(1)
    .map((t, i) => t - (times[i] as number))
    .filter((d) => d > 1e-4);
  if (deltas.length === 0) return undefined;
  const min = Math.min(...deltas);
  // Consecutive frames only (a dropped frame doubles a delta); their mean smooths millisecond timestamps.
  const single = deltas.filter((d) => d < 1.5 * min);
  const mean = single.reduce((a, b) => a + b, 0) / single.length;
  const rate = 1 / mean;
  const snapped = COMMON_RATES.find((r) => Math.abs(rate - r) / r < 0.005);
  return 1 / (snapped ?? rate);
}

/**
 * Seeks and waits until the frame at `time` is presented: 'seeked' alone can fire before the new frame reaches the
 * element (seen under load: the previous frame was drawn), so also wait for `requestVideoFrameCallback` (at most 2 s;
 * it does not fire when the frame shown does not change). Returns the presented frame's media time, if reported.
 */
async function seek(video: HTMLVideoElement, time: number, name: string, type: string): Promise<number | undefined> {
  let presented: Promise<number | undefined> = Promise.resolve(undefined);
  if (typeof video.requestVideoFrameCallback === 'function') {
    presented = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 2000);
      video.requestVideoFrameCallback((_now, meta) => {
        clearTimeout(timer);
        resolve(meta.mediaTime);
      });
    });
  }
  const seeked = waitFor(video, 'seeked', name, type, `seeking to ${time.toFixed(3)} s`);
  video.currentTime = time;
  await seeked;
  return presented;
}

/**
 * Opens `file` in `video`, samples one test view of `numFrames` frames at `size` px (see the module comment)
 * and returns it with the frames it came from. `onFrame(k, n)` reports decoding progress.
 * Errors: a file the browser cannot decode, an audio-only file, a stalled decoder ({@link DataError}).
 */
export async function sampleTestView(
  file: Blob & { readonly name?: string },
  video: HTMLVideoElement,
  config: { numFrames: number; size: number; mean: readonly number[]; std: readonly number[] },
  onFrame: (k: number, n: number) => void = () => {},
): Promise<SampledView> {
  const name = file.name ?? 'video';
  const type = file.type;
  const src = URL.createObjectURL(file);
  try {
    video.muted = true;
    video.playsInline = true;
    video.preload = 'auto';
    const loaded = waitFor(video, 'loadeddata', name, type, 'reading it');
    video.src = src;
    await loaded;
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!(width > 0 && height > 0)) {
      throw new DataError(`${JSON.stringify(name)} has no picture (video size ${width}x${height}); expected a video file, not audio only.`);
    }
    const duration = video.duration;
    if (!Number.isFinite(duration) || duration <= 0) {
      throw new DataError(
        `${JSON.stringify(name)} reports duration ${duration}; expected a finite positive length (a complete file, not a live stream).`,
      );
    }
    const measured = await measureFrameDuration(video);
    const frameDuration = measured ?? 1 / 30;
    const numFrames = Math.max(1, Math.round(duration / frameDuration));
    const plans = planTestViews(
      { width, height, numFrames },
      { numClips: 1, numCrops: 1, numFrames: config.numFrames, size: config.size, normalize: false },
    );
    const plan = plans[0] as ViewPlan;
    const indices = framesNeeded(plans);
    const W = plan.sourceWidth;
    const H = plan.sourceHeight;
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d', { willReadFrequently: true, alpha: false });
    if (!ctx) throw new DataError('This browser gives no 2D canvas; expected a browser with canvas support.');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    const data = new Uint8Array(indices.length * H * W * 3); // [n, H, W, 3]
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      await seek(video, Math.min((i + 0.5) * frameDuration, Math.max(0, duration - 1e-3)), name, type);
      ctx.drawImage(video, 0, 0, W, H);
      const rgba = ctx.getImageData(0, 0, W, H).data;
      const base = k * H * W * 3;
      for (let p = 0, q = 0; p < H * W; p++, q += 4) {
        data[base + p * 3] = rgba[q] as number;
        data[base + p * 3 + 1] = rgba[q + 1] as number;
        data[base + p * 3 + 2] = rgba[q + 2] as number;
      }
      onFrame(k + 1, indices.length);
    }
    const frames: RgbFrames = { data, shape: [indices.length, H, W, 3] };
    const view = renderView(frames, indices, plan); // [T, S, S, 3] in [0, 1]
    normalizeInPlace(view.data, config.mean, config.std); // (x - mean) / std, as @lss/data's normalizeClip
    return { view, frames, indices, plan, numFrames, frameDuration, timing: measured ? 'measured' : 'assumed', width, height };
  } finally {
    video.removeAttribute('src');
    video.load();
    URL.revokeObjectURL(src);
  }
}
