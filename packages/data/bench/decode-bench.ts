/**
 * Decoding benchmark: clips per second for 8 frames at 224x224 (one 8 x 224^2 view per clip, centre sampling over
 * the whole clip) on generated 10 s 320x240 videos (H.264 in MP4 and Xvid in AVI), against PyAV decoding the same
 * files and the same frames in the same run. Also times the full SVT multi-view load (2 global 8x224^2 + 8 local
 * 8x96^2 views with augmentations) through `VideoLoader`.
 *
 *   pnpm --filter @lss/data bench            # or: npx tsx --conditions=@lss/source bench/decode-bench.ts [numClips]
 *
 * Needs /usr/bin/python3 with PyAV for the comparison (skipped with a note otherwise).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SVT_VIEW_CONFIG, sampleFrameIndices } from '@lss/data';
import { decodeFrames, installerFfmpegPath, probeVideo, resolveFfmpeg, VideoLoader } from '@lss/data/node';

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

async function oursPass(
  files: string[],
  ffmpeg: string,
  concurrency: number,
  cachedInfo?: Map<string, Awaited<ReturnType<typeof probeVideo>>>,
  threads = 1,
) {
  const t0 = performance.now();
  const means = await pool(files, concurrency, async (path) => {
    const info = cachedInfo?.get(path) ?? (await probeVideo(path, { ffmpegPath: ffmpeg }));
    cachedInfo?.set(path, info);
    const indices = sampleFrameIndices({ numFramesTotal: info.numFrames, numFrames: T });
    const decoded = await decodeFrames(path, indices, { ffmpegPath: ffmpeg, info, outputSize: { width: SIZE, height: SIZE }, threads });
    const frameBytes = SIZE * SIZE * 3;
    return decoded.indices.map((_, k) => {
      let s = 0;
      for (let i = k * frameBytes; i < (k + 1) * frameBytes; i++) s += decoded.frames.data[i]!;
      return s / frameBytes;
    });
  });
  return { seconds: (performance.now() - t0) / 1000, means };
}

const cores = availableParallelism();
const binaries = [
  { label: '@ffmpeg-installer (static 2018 build)', path: installerFfmpegPath() },
  { label: 'default (resolveFfmpeg)', path: resolveFfmpeg().path },
].filter((b, i, all): b is { label: string; path: string } => !!b.path && all.findIndex((o) => o.path === b.path) === i);
const files = makeVideos(binaries[0]!.path);
console.log(`${files.length} clips (10 s, 320x240, 25 fps, H.264/MP4 and Xvid/AVI alternating), ${T} frames at ${SIZE}x${SIZE} per clip`);
console.log(
  `machine: ${cores} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

const results: Record<string, number> = {};
const oursMeans = new Map<string, number[][]>();
for (const bin of binaries) {
  await oursPass(files.slice(0, 2), bin.path, 1); // warm the page cache
  const seq = await oursPass(files, bin.path, 1);
  const seqThreads = await oursPass(files, bin.path, 1, undefined, 0);
  const par = await oursPass(files, bin.path, cores);
  const cache = new Map();
  await oursPass(files, bin.path, cores, cache);
  const parCached = await oursPass(files, bin.path, cores, cache);
  oursMeans.set(bin.label, seq.means);
  results[`ours ${bin.label} sequential`] = files.length / seq.seconds;
  results[`ours ${bin.label} sequential, ffmpeg -threads auto`] = files.length / seqThreads.seconds;
  results[`ours ${bin.label} parallel x${cores}`] = files.length / par.seconds;
  results[`ours ${bin.label} parallel x${cores}, probe cached`] = files.length / parCached.seconds;
  console.log(`ours, ffmpeg ${bin.label} = ${bin.path}`);
  console.log(`  sequential (probe + decode, 2 processes per clip): ${(files.length / seq.seconds).toFixed(2)} clips/s`);
  console.log(`  sequential, ffmpeg -threads auto:                 ${(files.length / seqThreads.seconds).toFixed(2)} clips/s`);
  console.log(`  ${cores} clips at once:                            ${(files.length / par.seconds).toFixed(2)} clips/s`);
  console.log(`  ${cores} at once, probe cached (epoch >= 2):       ${(files.length / parCached.seconds).toFixed(2)} clips/s`);
}

const jobsFile = join(tmpdir(), 'lss-data-bench', 'jobs.json');
const jobs = await Promise.all(
  files.map(async (path) => {
    const info = await probeVideo(path, { ffmpegPath: binaries[0]!.path });
    return { path, indices: sampleFrameIndices({ numFramesTotal: info.numFrames, numFrames: T }), size: SIZE };
  }),
);
writeFileSync(jobsFile, JSON.stringify(jobs));
const py = spawnSync('/usr/bin/python3', [join(here, 'pyav_decode.py'), jobsFile, String(cores)], { encoding: 'utf8' });
if (py.status !== 0) {
  console.log(
    `PyAV comparison skipped: /usr/bin/python3 with av failed (${(py.stderr || py.error?.message || '').trim().split('\n').pop()})`,
  );
} else {
  const pyav = JSON.parse(py.stdout) as { av_version: string; sequential_s: number; threads_s: number; workers: number; means: number[][] };
  const pySeq = files.length / pyav.sequential_s;
  const pyPar = files.length / pyav.threads_s;
  console.log(`PyAV ${pyav.av_version} (thread_type AUTO), decode + to_ndarray(224x224 rgb24):`);
  console.log(`  sequential:                                      ${pySeq.toFixed(2)} clips/s`);
  console.log(`  ${pyav.workers} clips at once (thread pool):                 ${pyPar.toFixed(2)} clips/s`);
  // Cross-check: the same frames (mean pixel value per frame; scalers may differ slightly between builds).
  for (const [label, means] of oursMeans) {
    let worst = 0;
    pyav.means.forEach((clip, c) => {
      clip.forEach((m, k) => {
        worst = Math.max(worst, Math.abs(m - (means[c]?.[k] ?? Number.NaN)));
      });
    });
    console.log(`  same frames as ours (${label}): largest per-frame mean difference ${worst.toFixed(2)} (of 255)`);
  }
  for (const [name, value] of Object.entries(results)) {
    const base = name.includes('sequential') ? pySeq : pyPar;
    console.log(`ratio ${name} / PyAV ${name.includes('sequential') ? 'sequential' : 'parallel'}: ${(value / base).toFixed(2)}`);
  }
}

// Full SVT views through the loader: 2 global (8 x 224^2) + 8 local (8 x 96^2), augmentations applied.
const loader = new VideoLoader({
  dataset: files.map((path) => ({ path, label: 0, className: 'bench' })),
  batchSize: 2,
  views: { mode: 'train', config: SVT_VIEW_CONFIG },
  ffmpegPath: binaries[0]!.path,
});
/** CPU seconds of this process (all threads) plus its reaped children (ffmpeg). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (own.user + own.system) / 1e6 + (Number(fields[13]) + Number(fields[14])) / 100;
}
const cpu0 = cpuSeconds();
const t0 = performance.now();
for await (const _batch of loader.epoch(0)) {
  // consume
}
const svtSeconds = (performance.now() - t0) / 1000;
const utilisation = (cpuSeconds() - cpu0) / svtSeconds;
console.log(
  `VideoLoader, full SVT views (2 x 8x224^2 + 8 x 8x96^2, augmented, ${loader.numWorkers} workers): ${(files.length / svtSeconds).toFixed(2)} clips/s (includes worker start-up), CPU ${utilisation.toFixed(2)} cores busy of ${cores}`,
);
await loader.close();
