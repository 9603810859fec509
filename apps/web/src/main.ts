/**
 * The page: pick a video, type labels, get them ranked by an exported LSS.js model running in the browser.
 *
 * URL parameters: `model` = URL of an exported model folder (default `./model/`, the one shipped in the build);
 * `ep` = `wasm` | `webgpu` | `auto` (default `auto`: WebGPU when the browser gives an adapter, else wasm).
 * State for scripts and tests: `document.body.dataset.state` = loading | ready | running | done | error, and
 * `window.lssWeb` (the last result, the sampled pixels, the model's metadata).
 */
import { LssError } from '@lss/core';
import { WORLD_ACTIONS } from '@lss/data';
import * as ort from 'onnxruntime-web';
import { embedView, labelPrototypes, parseLabels, type RankedLabel, rankLabels } from './classify.js';
import { sampleTestView } from './frames.js';
import { loadModelFolder, type ModelFolder } from './model-folder.js';

interface LastResult {
  readonly ranked: readonly RankedLabel[];
  readonly labels: readonly string[];
  /** The `[T, S, S, 3]` view fed to the video tower (CLIP-normalised), as a plain array. */
  readonly view: number[];
  readonly viewShape: readonly number[];
  /** The resized uint8 frames `[n, H, W, 3]` and their indices. */
  readonly frames: number[];
  readonly framesShape: readonly number[];
  readonly indices: readonly number[];
  readonly numFrames: number;
  readonly frameDuration: number;
  readonly timing: string;
  readonly milliseconds: { readonly decode: number; readonly text: number; readonly video: number };
}

declare global {
  interface Window {
    lssWeb: { model?: ModelFolder['meta']; modelUrl?: string; executionProvider?: string; last?: LastResult; error?: string };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>('video-file');
const labelsInput = $<HTMLTextAreaElement>('labels');
const runButton = $<HTMLButtonElement>('run');
const progressBar = $<HTMLProgressElement>('progress');
const statusLine = $<HTMLSpanElement>('status');
const errorBox = $<HTMLDivElement>('error');
const results = $<HTMLOListElement>('results');
const modelInfo = $<HTMLParagraphElement>('model-info');
const videoEl = $<HTMLVideoElement>('video');

window.lssWeb = {};
const params = new URLSearchParams(location.search);
const modelUrl = params.get('model') ?? `${import.meta.env.BASE_URL}model/`;

function setState(state: 'loading' | 'ready' | 'running' | 'done' | 'error'): void {
  document.body.dataset.state = state;
  runButton.disabled = state === 'loading' || state === 'running' || !model;
}

function progress(fraction: number, message: string): void {
  progressBar.value = Math.max(0, Math.min(1, fraction));
  statusLine.textContent = message;
}

function showError(error: unknown): void {
  const message =
    error instanceof LssError
      ? error.message
      : `Unexpected error: ${String((error as Error)?.message ?? error)} (please report it with the file you used).`;
  window.lssWeb.error = message;
  errorBox.textContent = message;
  errorBox.hidden = false;
  statusLine.textContent = 'Failed';
  setState('error');
}

async function pickExecutionProvider(): Promise<string[]> {
  const wanted = params.get('ep') ?? 'auto';
  if (wanted === 'wasm') return ['wasm'];
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (wanted === 'webgpu' && !adapter)
    throw new LssError(
      'WebGPU was asked for (?ep=webgpu) but this browser gives no WebGPU adapter; open the page without ?ep or with ?ep=wasm.',
    );
  return adapter ? ['webgpu'] : ['wasm'];
}

let model: ModelFolder | undefined;

async function init(): Promise<void> {
  setState('loading');
  labelsInput.value = WORLD_ACTIONS.map((a) => a.name).join(', ');
  // The wasm binary is a build asset (dist/assets/ort-wasm-simd-threaded.jsep-*.wasm), so the page works offline.
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  try {
    const providers = await pickExecutionProvider();
    window.lssWeb.executionProvider = providers[0];
    model = await loadModelFolder(ort, modelUrl, { executionProviders: providers, onProgress: progress });
    const m = model.meta;
    window.lssWeb.model = m;
    window.lssWeb.modelUrl = model.url;
    modelInfo.textContent = `Model: ${m.source?.label ?? model.url} — ${m.frames} frames × ${m.imageSize} px → ${m.embedDim}-d, ${(model.bytes / 1e6).toFixed(1)} MB, ${m.quantize ?? 'none'} weights, ${providers[0]} (${model.url})`;
    setState('ready');
    progress(0, 'Pick a video and press Classify');
  } catch (e) {
    showError(e);
  }
}

function render(ranked: readonly RankedLabel[]): void {
  results.replaceChildren(
    ...ranked.map((r) => {
      const li = document.createElement('li');
      li.className = 'result';
      const name = document.createElement('span');
      name.className = 'label';
      name.textContent = r.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${(100 * r.probability).toFixed(1)}%`;
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = `cos ${r.cosine.toFixed(4)} · p ${(100 * r.probability).toFixed(1)}%`;
      li.append(name, score, bar);
      return li;
    }),
  );
}

async function run(): Promise<void> {
  if (!model) return;
  const file = fileInput.files?.[0];
  errorBox.hidden = true;
  window.lssWeb.error = undefined;
  results.replaceChildren();
  if (!file) {
    showError(new LssError('No video chosen; pick a video file first.'));
    return;
  }
  setState('running');
  try {
    const labels = parseLabels(labelsInput.value);
    const { frames: T, imageSize: S, mean, std } = model.meta;
    const t0 = performance.now();
    progress(0.02, `Decoding ${file.name}`);
    const sampled = await sampleTestView(file, videoEl, { numFrames: T, size: S, mean, std }, (k, n) =>
      progress(0.02 + (0.6 * k) / n, `Decoding frame ${k} of ${n}`),
    );
    const t1 = performance.now();
    progress(0.65, `Encoding ${labels.length} labels`);
    const prototypes = await labelPrototypes(ort, model, labels);
    const t2 = performance.now();
    progress(0.85, 'Running the video tower');
    const embedding = await embedView(ort, model, sampled.view);
    const t3 = performance.now();
    const ranked = rankLabels(embedding, prototypes, labels);
    render(ranked);
    window.lssWeb.last = {
      ranked,
      labels,
      view: Array.from(sampled.view.data),
      viewShape: sampled.view.shape,
      frames: Array.from(sampled.frames.data),
      framesShape: sampled.frames.shape,
      indices: sampled.indices,
      numFrames: sampled.numFrames,
      frameDuration: sampled.frameDuration,
      timing: sampled.timing,
      milliseconds: { decode: t1 - t0, text: t2 - t1, video: t3 - t2 },
    };
    progress(
      1,
      `Done: ${sampled.numFrames} frames (${(1 / sampled.frameDuration).toFixed(2)} fps, ${sampled.timing}), frames ${sampled.indices.join(', ')}; ${Math.round(t3 - t0)} ms`,
    );
    setState('done');
  } catch (e) {
    showError(e);
  }
}

runButton.addEventListener('click', () => void run());
void init();
