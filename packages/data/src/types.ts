/**
 * Shared data shapes of `@lss/data`: samples, datasets and host-side video arrays.
 *
 * Video arrays are channels-last, `[T, H, W, 3]` for one view and `[B, T, H, W, 3]` for a batch, the layout
 * `@lss/backbone` expects. They are plain typed arrays so that batches cross package boundaries as host data.
 */

/** One labelled video of a dataset. */
export interface VideoSample {
  /** Absolute (or caller-relative) path of the video file. */
  readonly path: string;
  /** Class index into {@link VideoDataset.classNames}; -1 when the split has no labels (Kinetics test CSV). */
  readonly label: number;
  /** Class name as the dataset spells it (`ApplyEyeMakeup`, `brush_hair`, `air drumming`). */
  readonly className: string;
  /** Start of the trimmed segment in seconds, when the annotation gives one (Kinetics `time_start`). */
  readonly timeStart?: number;
  /** End of the trimmed segment in seconds (Kinetics `time_end`). */
  readonly timeEnd?: number;
  /** Where the sample was declared: `file:line`, for messages. */
  readonly source?: string;
}

/** A video listed by an annotation file but absent on disk. */
export interface MissingVideo {
  readonly path: string;
  /** Annotation file that listed it. */
  readonly file: string;
  /** 1-based line in `file`. */
  readonly line: number;
}

/** A file a reader saw and left out of the dataset, with the reason (a warning is emitted for each reader call). */
export interface SkippedFile {
  readonly path: string;
  /** Why it is not a sample: not a video extension, a fifo, a directory named like a video, a broken link. */
  readonly reason: string;
}

/** A parsed dataset split: class names, present samples and the videos that were listed but not found. */
export interface VideoDataset {
  /** Dataset family, for reports: `ucf101`, `hmdb51`, `kinetics400`, `folder`, `list`, `synthetic`. */
  readonly name: string;
  readonly classNames: readonly string[];
  readonly samples: readonly VideoSample[];
  readonly missing: readonly MissingVideo[];
  /** Files seen but left out (see {@link SkippedFile}); absent or empty when none. */
  readonly skipped?: readonly SkippedFile[];
}

/** One view (or a batch of views) as host data. `data.length === shape.reduce(*)`. */
export interface HostVideo {
  /** Row-major values; channels-last. */
  readonly data: Float32Array;
  /** `[T, H, W, 3]` for one view, `[B, T, H, W, 3]` for a batch. */
  readonly shape: readonly number[];
}

/** Raw decoded RGB frames, `[T, H, W, 3]` uint8. */
export interface RgbFrames {
  readonly data: Uint8Array;
  /** `[T, H, W, 3]`. */
  readonly shape: readonly [number, number, number, 3];
}

/** What a probe learns about a video without decoding it fully. */
export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Frames per second of the video stream (average or nominal rate). */
  readonly fps: number;
  /** Duration of the video stream in seconds. */
  readonly duration: number;
  /**
   * Timestamp of the first video frame in seconds (from the packets when counted, else the container's start).
   * With a constant frame rate, frame i is at `startTime + i / fps`.
   */
  readonly startTime: number;
  /** The container's start time (`ffmpeg -i` "start:"), the origin of input-side `-ss`; default `startTime`. */
  readonly containerStartTime?: number;
  /**
   * Presentation timestamps of every frame in seconds, sorted, only for variable-frame-rate streams (some frame off its
   * constant-rate slot by more than half a frame); frame i is then at `frameTimes[i]`.
   */
  readonly frameTimes?: readonly number[];
  /** Number of frames: counted exactly when `frameCountExact`, else `round(duration * fps)`. */
  readonly numFrames: number;
  readonly frameCountExact: boolean;
  /**
   * How frame i is found when decoding. `'timestamps'`: every packet has a presentation timestamp, so frame i is the
   * one at the i-th smallest pts (and decoding may seek). `'decode-order'`: some or all packets carry no pts (AVI,
   * raw H.264, MPEG-PS), or the frames were not counted, so frame i is the i-th frame the decoder outputs, counted
   * from the start without seeking, as PyAV's `container.decode()` gives them. Absent means `'timestamps'`.
   */
  readonly frameOrder?: 'timestamps' | 'decode-order';
  /** Packets the demuxer flagged corrupt while probing (a cut-off or damaged file); absent when none or not counted. */
  readonly corruptPackets?: number;
  /** Codec name as ffmpeg prints it (`h264`, `mpeg4`, `vp9`). */
  readonly codec: string;
}

/** Formats the "missing videos" part of a dataset as one summary paragraph (empty string when none). */
export function formatMissingSummary(dataset: Pick<VideoDataset, 'name' | 'missing' | 'samples'>, maxListed = 10): string {
  const { missing } = dataset;
  if (missing.length === 0) return '';
  const listed = missing
    .slice(0, maxListed)
    .map((m) => `  ${m.path} (listed at ${m.file}:${m.line})`)
    .join('\n');
  const more = missing.length > maxListed ? `\n  ... and ${missing.length - maxListed} more` : '';
  return (
    `${dataset.name}: ${missing.length} listed video(s) not found on disk (${dataset.samples.length} found); ` +
    `they were left out of the dataset. Check the videos directory or re-download them:\n${listed}${more}`
  );
}

/** Formats the "skipped files" of a dataset as one paragraph (empty string when none). */
export function formatSkippedSummary(dataset: Pick<VideoDataset, 'name' | 'skipped' | 'samples'>, maxListed = 10): string {
  const skipped = dataset.skipped ?? [];
  if (skipped.length === 0) return '';
  const listed = skipped
    .slice(0, maxListed)
    .map((f) => `  ${f.path}: ${f.reason}`)
    .join('\n');
  const more = skipped.length > maxListed ? `\n  ... and ${skipped.length - maxListed} more` : '';
  return `${dataset.name}: ${skipped.length} file(s) skipped (${dataset.samples.length} videos kept):\n${listed}${more}`;
}
