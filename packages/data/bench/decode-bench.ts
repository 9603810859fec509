/**
 * Decoding benchmark: clips per second for 8 frames at 224x224 (one 8 x 224^2 view per clip, centre sampling over
 * the whole clip) on generated 10 s 320x240 videos (H.264 in MP4 and Xvid in AVI), against PyAV decoding the same
 * files and the same frames in the same run. Also times the full SVT multi-view load (2 global 8x224^2 + 8 local
 * 8x96^2 views with augmentations) through `VideoLoader`.
 *
 *   pnpm --filter @lss/data bench            # or: npx tsx --conditions=@lss/source bench/decode-bench.ts [numClips] [rounds]
 *
 * Every configuration runs once per round, rounds interleaved (default 3), and the best and median rounds are
 * reported. Needs /usr/bin/python3 with PyAV for the comparison (skipped with a note otherwise).
 *
 * What each side does per clip (the same 8 frames of the same file, 224x224 rgb24 uint8 in memory on both sides):
 * - ours: ffmpeg (started by the thread's launcher shell, see `ShellLauncher`) decodes from the start or a seek
 *   point to the last wanted frame, keeps the 8 frames (select filter), converts them to RGB at the decoded size and
 *   resizes with one bicubic pass (Keys a = -0.5, CLIP's kernel), and writes them to a tmpfs file read into one buffer;
 * - PyAV: opens the file, decodes from the start to the last wanted frame (thread_type AUTO), and converts each wanted
 *   frame with `to_ndarray(width=224, height=224, format="rgb24")` (one swscale pass, bilinear: PyAV's default;
 *   bicubic costs the same there, measured). Python start-up and imports are not timed; our process start-ups are.
 * The clock stops when every clip's frames are in memory; the per-frame means used to check that both sides decoded
 * the same frames are computed after, on both sides. CPU per clip: ours = Node + every process under it (launcher
 * shells, ffmpeg); PyAV = its process.
 *
 * The lines:
 * - `sequential`: one clip at a time (the next asked for when the previous is in memory), e.g. a user's own loop over
 *   `decodeFrames`. `-threads 1` is decodeFrames' default. VideoLoader and the trainer never decode one at a time.
 * - `2 at once`: two clips (or groups) in flight. `[loader default]` = VideoLoader with its defaults: the jobs a worker
 *   has in flight (2 by default) share one ffmpeg process, up to `batchClips` (4), `-threads 1`, the probe cached
 *   after a file's first use (they keep 2 decodes per worker in flight: 4 on 2 cores).
 * - `4 clips per process`: `decodeClips` (the loader's `batchClips: 4`), one process decoding 4 clips.
 * - `first epoch`: the probe of each file (one more ffmpeg process) is in the timed region too.
 *
 * Where our time goes (measured 2026-11-29 23:17-23:35 UTC on the 2-core VM, development figures at load 1-7; see the
 * package README): decoding itself costs what PyAV costs (same libavcodec family: H.264 ~0.24 ms, Xvid ~0.07 ms per
 * 320x240 frame); what PyAV does not pay per clip is the new process: ~6 ms to exec the static ffmpeg and ~20 ms
 * more to open a file in a fresh address space, almost all of it ~1000-1200 page faults (25-30 ms of system time
 * per process here, heap first touches mostly: `perf stat -e page-faults`). Forcing the demuxer, `-probesize 32
 * -analyzeduration 0` and `-fpsprobesize 0` changed neither the faults nor the CPU (measured), so they are not used.
 * Since then the launcher starts ffmpeg with vfork (a foreground command of an idle shell) and a decode resolves at
 * ffmpeg's final progress report, before its exit.
 *
 * Quiet runs (`... decode-bench.ts 8 5`; medians, README table): 2026-11-30 02:22, 02:29, 02:30 UTC: two at once
 * with the loader's defaults (4 clips per process) 1.37x / 1.42x / 1.29x PyAV; one clip per decodeFrames call 0.91x /
 * 1.27x / 0.93x (the 1.27x is PyAV's slow window); a list through decodeClips one process at a time 1.04x / 1.37x /
 * 0.99x. What keeps one call per clip behind is the process per clip (see the README's "Decided, and what is left").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SVT_VIEW_CONFIG, sampleFrameIndices } from '@lss/data';
import {
  DEFAULT_BATCH_CLIPS,
  decodeClips,
  decodeFrames,
  describeFfmpeg,
  installerFfmpegPath,
  probeVideo,
  resolveFfmpeg,
  VideoLoader,
} from '@lss/data/node';

const here = dirname(fileURLToPath(import.meta.url));
const numClips = Number(process.argv[2] ?? 8);
const SIZE = 224;
const T = 8;

function makeVideos(ffmpeg: string): string[] {
  const dir = join(tmpdir(), 'lss-data-bench');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < numClips; i++) {
    const h264 = i % 2 === 0;
    const path = join(dir, `clip${i}.${h264 ? 'mp4' : 'avi'}`);
    files.push(path);
    if (existsSync(path)) continue;
    // testsrc2 moves and changes every frame; a different start offset per clip.
    const codec = h264
      ? ['-c:v', 'libx264', '-preset', 'medium', '-crf', '23', '-pix_fmt', 'yuv420p']
      : ['-c:v', 'libxvid', '-q:v', '4', '-vtag', 'XVID'];
    const result = spawnSync(ffmpeg, [
      '-hide_banner',
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=320x240:rate=25,hue=h=${i * 40}`,
      '-ss',
      String(i),
      '-t',
      '10',
      ...codec,
      '-g',
      '250',
      path,
    ]);
    if (result.status !== 0) throw new Error(`could not write ${path}: ${result.stderr}`);
  }
  return files;
}

async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

type Info = Awaited<ReturnType<typeof probeVideo>>;

function frameMeans(decoded: Awaited<ReturnType<typeof decodeFrames>>): number[] {
  const frameBytes = SIZE * SIZE * 3;
  return decoded.indices.map((_, k) => {
    let s = 0;
    for (let i = k * frameBytes; i < (k + 1) * frameBytes; i++) s += decoded.frames.data[i]!;
    return s / frameBytes;
  });
}

/**
 * Our side: per clip, the frames `sampleFrameIndices` picks, decoded by ffmpeg to 224x224 rgb24 (select filter,
 * colour conversion at the decoded size, one bicubic resize: what `decodeFrames` gives CLIP), in one buffer in memory.
 * `batch` > 1: that many clips per ffmpeg process (`decodeClips`), `concurrency` processes at once. The clock stops
 * when every clip's frames are in memory; the per-frame means (the cross-check with PyAV) are computed after, on
 * both sides.
 */
async function oursPass(files: string[], ffmpeg: string, concurrency: number, cachedInfo?: Map<string, Info>, threads = 1, batch = 1) {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const options = (info: Info) => ({ ffmpegPath: ffmpeg, info, outputSize: { width: SIZE, height: SIZE }, threads });
  const infoOf = async (path: string) => {
    const info = cachedInfo?.get(path) ?? (await probeVideo(path, { ffmpegPath: ffmpeg }));
    cachedInfo?.set(path, info);
    return info;
  };
  let decoded: Awaited<ReturnType<typeof decodeFrames>>[];
  if (batch <= 1) {
    decoded = await pool(files, concurrency, async (path) => {
      const info = await infoOf(path);
      const indices = sampleFrameIndices({ numFramesTotal: info.numFrames, numFrames: T });
      return decodeFrames(path, indices, options(info));
    });
  } else {
    const groups: string[][] = [];
    for (let i = 0; i < files.length; i += batch) groups.push(files.slice(i, i + batch));
    const perGroup = await pool(groups, concurrency, async (group) => {
      const infos = await Promise.all(group.map(infoOf));
      const results = await decodeClips(
        group.map((path, k) => ({
          path,
          indices: sampleFrameIndices({ numFramesTotal: infos[k]!.numFrames, numFrames: T }),
          options: options(infos[k]!),
        })),
        { ffmpegPath: ffmpeg },
      );
      return results.map((r) => {
        if (r.status === 'rejected') throw r.reason;
        return r.value;
      });
    });
    decoded = perGroup.flat();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  return { seconds, cpu, means: decoded.map(frameMeans) };
}

/**
 * CPU seconds of this process (all threads) and of every process below it: reaped children (ffmpeg started directly)
 * via our cutime/cstime, and the live tree (the launcher shells of `ShellLauncher`, their job subshells, zombies or
 * not, and the ffmpeg they run) via each one's own and reaped time. A process is counted once: a reaped one leaves the
 * tree when its time moves into its parent's cutime.
 */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  const procs = new Map<number, { ppid: number; self: number; reaped: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // After "pid (comm) ": state, ppid, ..., utime, stime, cutime, cstime are 0-based fields 0, 1, ..., 11-14.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      procs.set(Number(pid), { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) });
    } catch {
      // exited meanwhile
    }
  }
  let ticks = procs.get(process.pid)?.reaped ?? 0;
  const below = [process.pid];
  while (below.length > 0) {
    const parent = below.pop()!;
    for (const [pid, p] of procs) {
      if (p.ppid !== parent) continue;
      ticks += p.self + p.reaped;
      below.push(pid);
    }
  }
  return (own.user + own.system) / 1e6 + ticks / 100;
}

const cores = availableParallelism();
const rounds = Number(process.argv[3] ?? 3);
const ffmpeg = resolveFfmpeg();
const files = makeVideos(installerFfmpegPath() ?? ffmpeg.path);
console.log(`${files.length} clips (10 s, 320x240, 25 fps, H.264/MP4 and Xvid/AVI alternating), ${T} frames at ${SIZE}x${SIZE} per clip`);
console.log(describeFfmpeg(ffmpeg));
console.log(
  `machine: ${cores} cores, SHARED with other jobs: load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the start; figures are noisy, compare within this run only`,
);

// One probe per file, reused by every pass (what VideoLoader and the trainer do from the second epoch on).
const infos = new Map(await Promise.all(files.map(async (path) => [path, await probeVideo(path, { ffmpegPath: ffmpeg.path })] as const)));
const jobs = files.map((path) => ({
  path,
  indices: sampleFrameIndices({ numFramesTotal: infos.get(path)!.numFrames, numFrames: T }),
  size: SIZE,
}));
const jobsFile = join(tmpdir(), 'lss-data-bench', 'jobs.json');
writeFileSync(jobsFile, JSON.stringify(jobs));
const hasPyav = spawnSync('/usr/bin/python3', ['-c', 'import av'], { stdio: 'ignore' }).status === 0;
if (!hasPyav) console.log('PyAV comparison skipped: /usr/bin/python3 cannot import av (apt-get install python3-av).');

function pyavPass(mode: 'sequential' | 'threads', workers: number): { seconds: number; cpu: number; means: number[][]; version: string } {
  const py = spawnSync('/usr/bin/python3', [join(here, 'pyav_decode.py'), jobsFile, mode, String(workers)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`PyAV pass failed: ${py.stderr}`);
  const out = JSON.parse(py.stdout) as { seconds: number; cpu: number; means: number[][]; av_version: string };
  return { seconds: out.seconds, cpu: out.cpu, means: out.means, version: out.av_version };
}

type Config = { name: string; run: () => Promise<{ seconds: number; cpu?: number; means?: number[][] }> };
// [loader default] marks VideoLoader with its defaults: the jobs a worker has in flight (2) share one ffmpeg process,
// up to DEFAULT_BATCH_CLIPS (4) clips, -threads 1, the probe cached after a file's first use.
const SEQ_DEFAULT = 'ours sequential, -threads 1 [decodeFrames default]';
const configs: Config[] = [
  { name: SEQ_DEFAULT, run: () => oursPass(files, ffmpeg.path, 1, infos, 1) },
  { name: 'ours sequential, -threads auto', run: () => oursPass(files, ffmpeg.path, 1, infos, 0) },
  { name: 'ours sequential, first epoch (probe + decode), -threads 1', run: () => oursPass(files, ffmpeg.path, 1, undefined, 1) },
  { name: 'ours sequential, 4 clips per process (decodeClips), -threads 1', run: () => oursPass(files, ffmpeg.path, 1, infos, 1, 4) },
  { name: 'ours 2 at once, -threads 1, a process per clip', run: () => oursPass(files, ffmpeg.path, 2, infos, 1) },
  { name: 'ours 2 at once, 4 clips per process, -threads 1', run: () => oursPass(files, ffmpeg.path, 2, infos, 1, 4) },
];
// The loader itself with CLIP's test view (1 clip x 1 centre crop of 8 frames, 224^2, not normalised; ours decodes to
// 298x224 with CLIP's resize and crops, PyAV squashes to 224x224; the views are float32, not uint8) and its
// default concurrency (a worker thread per core, 2 videos in flight per worker). Workers start in a warm-up epoch
// before the rounds, so the timed epochs do not include the worker threads' start-up.
const testView = { numClips: 1, numCrops: 1, numFrames: T, size: SIZE, normalize: false };
const loaders = [1, 4].map(
  (batchClips) =>
    [
      batchClips,
      new VideoLoader({
        dataset: files.map((path) => ({ path, label: 0, className: 'bench' })),
        batchSize: 1,
        views: { mode: 'test', config: testView },
        ffmpegPath: ffmpeg.path,
        batchClips,
      }),
    ] as const,
);
let loaderEpoch = 0;
for (const [, loader] of loaders) for await (const _ of loader.epoch(loaderEpoch)) void _;
for (const [batchClips, loader] of loaders) {
  configs.push({
    name: `VideoLoader test view, ${loader.numWorkers} workers x 2 at once, batchClips ${batchClips}${batchClips === DEFAULT_BATCH_CLIPS ? ' [loader default]' : ''}`,
    run: async () => {
      const t0 = performance.now();
      for await (const _ of loader.epoch(++loaderEpoch)) void _;
      return { seconds: (performance.now() - t0) / 1000 };
    },
  });
}
let pyavVersion = '';
if (hasPyav) {
  configs.push(
    {
      name: 'PyAV sequential (thread_type AUTO)',
      run: async () => {
        const r = pyavPass('sequential', 1);
        pyavVersion = r.version;
        return r;
      },
    },
    { name: 'PyAV 2 at once (thread pool, thread_type AUTO)', run: async () => pyavPass('threads', 2) },
  );
}
await oursPass(files.slice(0, 2), ffmpeg.path, 1, infos); // warm the page cache
const seconds = new Map<string, number[]>(configs.map((c) => [c.name, []]));
const cpus = new Map<string, number[]>(configs.map((c) => [c.name, []]));
const meansOf = new Map<string, number[][]>();
for (let r = 0; r < rounds; r++) {
  // Interleaved: every configuration once per round, so load changes hit them alike.
  for (const config of configs) {
    const cpu0 = cpuSeconds();
    const out = await config.run();
    // CPU time is far less sensitive to the shared machine's load than wall time.
    cpus.get(config.name)!.push(out.cpu ?? cpuSeconds() - cpu0);
    seconds.get(config.name)!.push(out.seconds);
    if (out.means) meansOf.set(config.name, out.means);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`\nclips/s over ${rounds} interleaved rounds (best = from the fastest round, median = from the median round):`);
console.log('  [decodeFrames default] = one decodeFrames call per clip with its default settings (a process per clip, -threads 1);');
console.log(
  `  [loader default] = VideoLoader with its defaults (batchClips ${DEFAULT_BATCH_CLIPS}: the jobs a worker has in flight, 2 by default, share a process).`,
);
const rate = new Map<string, { best: number; median: number }>();
for (const [name, xs] of seconds) {
  const best = files.length / Math.min(...xs);
  const med = files.length / median(xs);
  rate.set(name, { best, median: med });
  const cpuPerClip = (median(cpus.get(name)!) / files.length) * 1000;
  console.log(`  ${name.padEnd(76)} best ${best.toFixed(2)}  median ${med.toFixed(2)}   CPU ${cpuPerClip.toFixed(0)} ms/clip (median)`);
}
if (hasPyav) {
  console.log(`PyAV ${pyavVersion}: ratios of medians (>= 1.0 means at least PyAV's speed):`);
  const pySeq = rate.get('PyAV sequential (thread_type AUTO)')!.median;
  const pyPar = rate.get('PyAV 2 at once (thread pool, thread_type AUTO)')!.median;
  for (const [name, r] of rate) {
    if (name.startsWith('PyAV') || name.startsWith('VideoLoader')) continue;
    const base = name.includes('2 at once') ? pyPar : pySeq;
    console.log(`  ${name.padEnd(76)} ${(r.median / base).toFixed(2)}x PyAV ${name.includes('2 at once') ? '2 at once' : 'sequential'}`);
  }
  console.log('  (VideoLoader lines: no ratio, their output is float32 views [B, T, H, W, 3] (uint8 / 255) handed over from worker');
  console.log("   threads, more work than PyAV's uint8 frames; they show what the loader adds to the bare decode.)");
  // Cross-check: the same frames (mean pixel value per frame; the two resizers differ slightly).
  const ours = meansOf.get(SEQ_DEFAULT)!;
  const theirs = meansOf.get('PyAV sequential (thread_type AUTO)')!;
  let worst = 0;
  theirs.forEach((clip, c) => {
    clip.forEach((m, k) => {
      worst = Math.max(worst, Math.abs(m - (ours[c]?.[k] ?? Number.NaN)));
    });
  });
  console.log(`  same frames as PyAV: largest per-frame mean difference ${worst.toFixed(2)} (of 255)`);
}

// Full SVT views through the loader: 2 global (8 x 224^2) + 8 local (8 x 96^2), augmentations applied.
const svtLoader = new VideoLoader({
  dataset: files.map((path) => ({ path, label: 0, className: 'bench' })),
  batchSize: 2,
  views: { mode: 'train', config: SVT_VIEW_CONFIG },
  ffmpegPath: ffmpeg.path,
});
const cpu0 = cpuSeconds();
const t0 = performance.now();
for await (const _batch of svtLoader.epoch(0)) {
  // consume
}
const svtSeconds = (performance.now() - t0) / 1000;
const utilisation = (cpuSeconds() - cpu0) / svtSeconds;
console.log(
  `VideoLoader, full SVT views (2 x 8x224^2 + 8 x 8x96^2, augmented, ${svtLoader.numWorkers} workers): ${(files.length / svtSeconds).toFixed(2)} clips/s (includes worker start-up), CPU ${utilisation.toFixed(2)} cores busy of ${cores}`,
);
await svtLoader.close();
for (const [, loader] of loaders) await loader.close();
