/**
 * `pnpm --filter @lss/trainer pretrain-clip`: pretrains the demo's small CLIP on the synthetic action world's
 * captioned stills (rendered in memory from the world seed: the same stills `generateActionWorld` writes),
 * then measures image zero-shot accuracy on the held-out stills and writes a Hugging Face CLIP folder with a
 * model card.
 *
 *   --out DIR        output folder (default models/clip-world-tiny, relative to apps/trainer)
 *   --arch DIR       Hugging Face folder giving config.json + tokenizer files (default fixtures/clip-tiny)
 *   --steps N --batch N --lr X --seed N --world-seed N --stills-per-class N --backend NAME
 *   --checkpoint FILE   resumable checkpoint, written every 250 steps and at the end; resumed when present
 *   --stop-at N      stop after step N of the --steps schedule (the schedule, batches and result up to N are
 *                    those of the full run)
 *   --appearance-from N  first step (0-based) with the appearance augmentation (default 0)
 *   --appearance P   probability of the appearance augmentation (clip-augment.ts; 0 = none), with
 *                    --min-scale X --max-noise L --max-texture L (levels 0-255)
 *   --video-val DIR  after training, measure the frozen CLIP's zero-shot on the validation world's videos
 *                    (world-validation.ts; generated into DIR once) and put it in the model card
 *   --logit-scale-lr X  peak learning rate of logit_scale (default: --lr)
 *   --patch-size P   image patch size instead of the --arch config's (the exported config.json says so)
 *   --eval-only      no training: measure the CLIP folder --out (stills and, with --video-val, videos) and print
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIP_MEAN, CLIP_STD, loadClip } from '@lss/backbone';
import { loadClipTokenizer } from '@lss/concepts/node';
import { type BackendName, describeBackend, initBackend } from '@lss/core';
import { writeFileAtomic } from '@lss/core/node';
import { WORLD_ACTIONS } from '@lss/data';
import { renderWorldStills } from '@lss/data/node';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ClipPretrainConfig,
  ClipPretrainer,
  clipConfigFromHf,
  DEFAULT_CLIP_PRETRAIN,
  hfConfigWithPatchSize,
  pretrainLearningRate,
} from './clip-pretrain.js';
import { ensureValidationWorld, validationZeroShot } from './world-validation.js';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = resolve(here, '..');
const repoRoot = resolve(appRoot, '../..');

/** Image zero-shot top-1 (%) of a CLIP folder on stills, with the world's prompts averaged per class. */
export async function stillZeroShot(
  clipDir: string,
  stills: { images: Uint8Array; size: number; labels: readonly number[] },
  prompts: readonly string[],
): Promise<{ top1: number; perClass: number[] }> {
  const clip = await loadClip(clipDir, { video: false });
  const tokenizer = await loadClipTokenizer(clipDir);
  try {
    const K = WORLD_ACTIONS.length;
    const texts = WORLD_ACTIONS.flatMap((a) => prompts.map((p) => p.replace('{}', a.name)));
    const tok = tokenizer.tokenize(texts);
    const classifier = tf.tidy(() => {
      const t = clip.encodeText(tf.tensor2d(tok.ids, [...tok.shape], 'int32'));
      const n = tf.div(t, tf.norm(t, 2, 1, true));
      const mean = tf.mean(tf.reshape(n, [K, prompts.length, -1]), 1);
      return tf.div(mean, tf.norm(mean, 2, 1, true));
    });
    const N = stills.labels.length;
    const S = stills.size;
    const pixels = new Float32Array(stills.images.length);
    for (let i = 0; i < pixels.length; i++)
      pixels[i] = ((stills.images[i] as number) / 255 - (CLIP_MEAN[i % 3] as number)) / (CLIP_STD[i % 3] as number);
    const pred = tf.tidy(() => {
      const z = clip.encodeImages(tf.tensor4d(pixels, [N, S, S, 3]));
      return tf.argMax(tf.matMul(z, tf.transpose(classifier)), 1).dataSync();
    });
    classifier.dispose();
    const hits = new Array<number>(K).fill(0);
    const counts = new Array<number>(K).fill(0);
    stills.labels.forEach((l, i) => {
      counts[l] = (counts[l] as number) + 1;
      if (pred[i] === l) hits[l] = (hits[l] as number) + 1;
    });
    const top1 = (100 * hits.reduce((a, b) => a + b, 0)) / N;
    return { top1, perClass: hits.map((h, k) => (100 * h) / Math.max(1, counts[k] as number)) };
  } finally {
    clip.dispose();
  }
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      out: { type: 'string' },
      arch: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      'world-seed': { type: 'string' },
      'stills-per-class': { type: 'string' },
      backend: { type: 'string' },
      checkpoint: { type: 'string' },
      'log-every': { type: 'string' },
      'init-temperature': { type: 'string' },
      warmup: { type: 'string' },
      'stop-at': { type: 'string' },
      appearance: { type: 'string' },
      'min-scale': { type: 'string' },
      'max-noise': { type: 'string' },
      'max-texture': { type: 'string' },
      'video-val': { type: 'string' },
      'eval-only': { type: 'boolean' },
      'freeze-token-embedding': { type: 'boolean' },
      'logit-scale-lr': { type: 'string' },
      'patch-size': { type: 'string' },
      'appearance-from': { type: 'string' },
    },
  });
  const num = (x: string | undefined, d: number) => (x === undefined ? d : Number(x));
  const out = resolve(appRoot, v.out ?? 'models/clip-world-tiny');
  const arch = resolve(v.arch ?? join(repoRoot, 'fixtures/clip-tiny'));
  const backendName = (v.backend ?? 'auto') as BackendName;
  const backend = await initBackend(backendName);
  const worldSeed = num(v['world-seed'], 0);
  const stillsPerClass = num(v['stills-per-class'], 400);
  const heldOut = 50;
  const recipe: ClipPretrainConfig = {
    ...DEFAULT_CLIP_PRETRAIN,
    seed: num(v.seed, DEFAULT_CLIP_PRETRAIN.seed),
    steps: num(v.steps, DEFAULT_CLIP_PRETRAIN.steps),
    batchSize: num(v.batch, DEFAULT_CLIP_PRETRAIN.batchSize),
    learningRate: num(v.lr, DEFAULT_CLIP_PRETRAIN.learningRate),
    warmupSteps: num(v.warmup, DEFAULT_CLIP_PRETRAIN.warmupSteps),
    initTemperature: num(v['init-temperature'], DEFAULT_CLIP_PRETRAIN.initTemperature),
    appearance:
      num(v.appearance, 0) > 0
        ? {
            probability: num(v.appearance, 0),
            minScale: num(v['min-scale'], 0.6),
            maxNoise: num(v['max-noise'], 10),
            maxTexture: num(v['max-texture'], 24),
          }
        : null,
    appearanceFromStep: num(v['appearance-from'], 0),
    freezeTokenEmbedding: v['freeze-token-embedding'] ?? false,
    logitScaleLearningRate: v['logit-scale-lr'] === undefined ? null : Number(v['logit-scale-lr']),
  };
  const patchSize = v['patch-size'] === undefined ? undefined : Number(v['patch-size']);
  const templateJson: unknown = JSON.parse(readFileSync(join(arch, 'config.json'), 'utf8'));
  const archJson = patchSize === undefined ? templateJson : hfConfigWithPatchSize(templateJson, patchSize);
  const clipConfig = clipConfigFromHf(archJson);
  const logEvery = num(v['log-every'], 50);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const loadStart = loadavg()[0] as number;
  const world = renderWorldStills({ stillsPerClass, heldOutStillsPerClass: heldOut, size: 32, seed: worldSeed });
  const train = world.items.filter((s) => s.subset === 'train');
  const px = 32 * 32 * 3;
  const pick = (items: typeof world.items) => {
    const images = new Uint8Array(items.length * px);
    items.forEach((s, j) => images.set(world.images.subarray(s.index * px, (s.index + 1) * px), j * px));
    return images;
  };
  const stills = { images: pick(train), size: 32, captions: train.map((s) => s.caption) };
  const heldItems = world.items.filter((s) => s.subset === 'heldout');
  const prompts = ['a photo of a person {}.'];
  const videoVal = v['video-val'] ? resolve(v['video-val']) : undefined;
  /** Frozen zero-shot on the validation world's videos, with the stills' prompt and with lss-eval's default prompts. */
  const measureVideos = async (dir: string) => {
    if (!videoVal) return null;
    await ensureValidationWorld(videoVal, say);
    const own = await validationZeroShot(dir, videoVal, { prompts });
    const standard = await validationZeroShot(dir, videoVal);
    return { own: own.summary.top1, standard: standard.summary.top1, perClass: own };
  };
  if (v['eval-only']) {
    const held = await stillZeroShot(out, { images: pick(heldItems), size: 32, labels: heldItems.map((s) => s.label) }, prompts);
    say(`${out}: image zero-shot on held-out stills ${held.top1.toFixed(1)} %`);
    const video = await measureVideos(out);
    if (video) {
      say(
        `frozen zero-shot on the validation world's videos (${videoVal}): prompt "${prompts[0]}" ${video.own.mean.toFixed(1)} ± ${video.own.std.toFixed(1)} %, lss-eval default prompts ${video.standard.mean.toFixed(1)} ± ${video.standard.std.toFixed(1)} % (over its 3 test lists; chance ${(100 / WORLD_ACTIONS.length).toFixed(1)} %)`,
      );
    }
    return;
  }
  say(
    `CLIP pretraining: ${train.length} captioned stills (world seed ${worldSeed}), backend ${backend.name}, recipe ${JSON.stringify(recipe)}`,
  );
  const tokenizer = await loadClipTokenizer(arch);
  const run = new ClipPretrainer(clipConfig, recipe, stills, tokenizer);
  const checkpoint = v.checkpoint ? resolve(v.checkpoint) : undefined;
  if (checkpoint && existsSync(checkpoint)) {
    run.loadCheckpoint(checkpoint);
    say(`resumed from ${checkpoint} at step ${run.step}`);
  }
  let window: number[] = [];
  let finalLoss = Number.NaN;
  const stopAt = Math.min(recipe.steps, num(v['stop-at'], recipe.steps));
  while (run.step < stopAt) {
    window.push(run.trainStep());
    if (run.step % logEvery === 0 || run.step === stopAt) {
      const mean = window.reduce((x, y) => x + y, 0) / window.length;
      finalLoss = mean;
      say(
        `step ${run.step}/${recipe.steps}  loss ${mean.toFixed(4)}  T ${(1 / Math.exp(run.logitScale.dataSync()[0] as number)).toFixed(4)}  ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
      window = [];
    }
    if (checkpoint && (run.step % 250 === 0 || run.step === stopAt)) {
      mkdirSync(dirname(checkpoint), { recursive: true });
      await run.saveCheckpoint(checkpoint);
    }
  }
  const finalTemperature = 1 / Math.exp(run.logitScale.dataSync()[0] as number);
  const trainSeconds = run.trainSeconds; // over the whole run, resumes included (NaN: a checkpoint without the count)
  run.saveHfFolder(
    out,
    arch,
    { recipe: JSON.stringify(recipe), step: String(run.step), worldSeed: String(worldSeed) },
    patchSize === undefined ? undefined : archJson,
  );
  run.dispose();
  const held = await stillZeroShot(out, { images: pick(heldItems), size: 32, labels: heldItems.map((s) => s.label) }, prompts);
  const trainSubset = train.slice(0, heldItems.length);
  const seen = await stillZeroShot(out, { images: pick(trainSubset), size: 32, labels: trainSubset.map((s) => s.label) }, prompts);
  const video = await measureVideos(out);
  const totalSeconds = (performance.now() - started) / 1000;
  const a = recipe.appearance;
  const appearanceFlags = a
    ? ` --appearance ${a.probability} --min-scale ${a.minScale} --max-noise ${a.maxNoise} --max-texture ${a.maxTexture}${recipe.appearanceFromStep > 0 ? ` --appearance-from ${recipe.appearanceFromStep}` : ''}`
    : '';
  const command = `pnpm --filter @lss/trainer pretrain-clip --steps ${recipe.steps}${stopAt < recipe.steps ? ` --stop-at ${stopAt}` : ''} --batch ${recipe.batchSize} --lr ${recipe.learningRate} --warmup ${recipe.warmupSteps} --init-temperature ${recipe.initTemperature} --seed ${recipe.seed} --world-seed ${worldSeed} --stills-per-class ${stillsPerClass}${appearanceFlags}${recipe.freezeTokenEmbedding ? ' --freeze-token-embedding' : ''}${recipe.logitScaleLearningRate === null ? '' : ` --logit-scale-lr ${recipe.logitScaleLearningRate}`}${patchSize === undefined ? '' : ` --patch-size ${patchSize}`} --backend ${backendName}${videoVal ? ` --video-val ${v['video-val']}` : ''}`;
  const appearanceText = a
    ? `; appearance augmentation (\`src/clip-augment.ts\`)${recipe.appearanceFromStep > 0 ? ` from step ${recipe.appearanceFromStep + 1} on (earlier steps see the plain stills)` : ''} on ${Math.round(100 * a.probability)} % of the stills: the figure is cut out of its plain background (a colour matte), scaled by [${a.minScale}, 1] about its feet, recoloured, and composited over a random one- or two-tone background with stripe texture of amplitude [0, ${a.maxTexture}] levels, plus Gaussian noise of std [0, ${a.maxNoise}] levels (colour, background, scale and noise jitter; the videos are never seen and the video renderer is not used)`
    : '';
  const videoText = video
    ? `
## Frozen zero-shot on videos (validation world)
A separate world drawn from seed 1 (\`src/world-validation.ts\`: other actors, scenes and performances; 72 videos, 3 groups
x 2 clips per action; 48 px, 16 frames, textured backgrounds, camera pan, noise), never trained on and not one of the demo's
test splits. Frame average of 8 frames, 1 clip x 1 crop, resized to 32 px. Top-1 over its three test lists (mean ± std):
**${video.own.mean.toFixed(1)} ± ${video.own.std.toFixed(1)} %** with the prompt "${prompts[0]}", ${video.standard.mean.toFixed(1)} ± ${video.standard.std.toFixed(1)} % with lss-eval's
default prompts (the plain name and "a video of a person {}."); chance ${(100 / WORLD_ACTIONS.length).toFixed(1)} %.
`
    : '';
  const rows = WORLD_ACTIONS.map((a, k) => `| ${a.id} | ${a.name} | ${(held.perClass[k] as number).toFixed(0)} |`).join('\n');
  const card = `# clip-world-tiny

A small CLIP (Hugging Face \`CLIPModel\` layout, OpenAI's BPE tokenizer files) pretrained **only on the captioned
still images** of the project's synthetic action world (\`@lss/data\` \`generateActionWorld\`, world seed ${worldSeed}),
never on its videos. It is the default model of \`bash tooling/scripts/run.sh demo\`.

## Architecture
Architecture of \`fixtures/clip-tiny/config.json\`${patchSize === undefined ? '' : ` with image patch size ${patchSize}`}: ViT image tower ${clipConfig.vision.imageSize} px, patch ${clipConfig.vision.patchSize}, width ${clipConfig.vision.width}, ${clipConfig.vision.layers} layers; text
transformer width ${clipConfig.text.width}, ${clipConfig.text.layers} layers, vocabulary ${clipConfig.text.vocabSize} (OpenAI's); joint embedding ${clipConfig.embedDim}. Weights start from seed ${recipe.seed}.

## Data
${train.length} training stills (${stillsPerClass} per action x ${WORLD_ACTIONS.length} actions, 32 px, a stick figure at a uniformly drawn
moment of the action on a plain light background), each with one caption such as "${train[0]?.caption}" or
"${train[1]?.caption}". ${heldItems.length} held-out stills (${heldOut} per action) are never trained on.

## Recipe
Symmetric InfoNCE (CLIP, open_clip \`ClipLoss\`) with a learned temperature (init ${recipe.initTemperature}, exp(logit_scale) capped at 100, ${recipe.logitScaleLearningRate === null ? 'same learning rate as the weights' : `its own peak learning rate ${recipe.logitScaleLearningRate} (same schedule)`}; CLIP's init 0.07 collapsed both towers to one direction within 10 steps at this scale, see the notes);
AdamW (betas 0.9/0.98, eps 1e-6, weight decay ${recipe.weightDecay} on matrices), peak learning rate ${recipe.learningRate}, ${recipe.warmupSteps} warmup steps,
cosine decay over ${recipe.steps} steps of batch ${recipe.batchSize}${stopAt < recipe.steps ? `, stopped after step ${stopAt} (the learning rate there is ${pretrainLearningRate(recipe, stopAt - 1).toExponential(2)})` : ''}, captions cut to ${recipe.contextLength} tokens; augmentation: shifts of up to
${recipe.maxShift} px${recipe.flip ? ' and horizontal flips' : ''}${appearanceText}${recipe.freezeTokenEmbedding ? '; the token embedding table stays at its initialisation (frozen: its dense update dominated the step time)' : ''}. Batches and augmentation of step t depend on (seed, t) only.

Reproduce (${describeBackend(backend)}; ${Number.isFinite(trainSeconds) ? `${trainSeconds.toFixed(0)} s in training steps over the whole run` : 'training time not recorded in the resumed checkpoint'}; this invocation ${totalSeconds.toFixed(0)} s wall clock in all;
measured on the shared 2-core machine, 1-minute load average ${loadStart.toFixed(1)} at the start and ${loadavg()[0]?.toFixed(1)} at the end):

\`\`\`
${command}
\`\`\`

## Image zero-shot on held-out stills
Prompt "${prompts[0]}" with each action's name. Top-1: **${held.top1.toFixed(1)} %** on the ${heldItems.length} held-out stills
(${seen.top1.toFixed(1)} % on ${trainSubset.length} training stills; chance ${(100 / WORLD_ACTIONS.length).toFixed(1)} %). Pairs that differ only in time
order (raising / lowering an arm, squatting down / standing up) cannot be told apart from one still by design.

| action | name | held-out top-1 % |
|---|---|---|
${rows}

${videoText}
Final training loss ${finalLoss.toFixed(4)} (mean of the last ${logEvery} steps; ln ${recipe.batchSize} = ${Math.log(recipe.batchSize).toFixed(2)} for random pairs), learned temperature ${finalTemperature.toFixed(4)}.
`;
  writeFileAtomic(join(out, 'README.md'), card);
  say(
    `image zero-shot on held-out stills: ${held.top1.toFixed(1)} % (train stills ${seen.top1.toFixed(1)} %)${video ? `; frozen video zero-shot on the validation world ${video.own.mean.toFixed(1)} ± ${video.own.std.toFixed(1)} % (default prompts ${video.standard.mean.toFixed(1)} ± ${video.standard.std.toFixed(1)} %)` : ''}; wrote ${out} in ${totalSeconds.toFixed(0)} s`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`pretrain-clip failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
