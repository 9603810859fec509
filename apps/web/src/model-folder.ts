/**
 * Loads an exported model folder (`lss-eval export-onnx --out DIR`) over HTTP: `lss_video.json`, the tokenizer
 * files and the two ONNX towers, each checked with an error that names the URL, what was found and how to fix it.
 *
 *   lss_video.json          frames T, crop size S, CLIP mean/std, embedding size D
 *   tokenizer.json, tokenizer_config.json
 *   onnx/video_model.onnx   pixel_values float32 [B, T, S, S, 3] -> video_embeds [B, D]
 *   onnx/text_model.onnx    input_ids int64 [B, 77] -> text_embeds [B, D]
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { createClipTokenizer, type Tokenizer } from '@lss/concepts';
import { ConfigError, WeightsError } from '@lss/core';
import type * as Ort from 'onnxruntime-web';

/** The fields of `lss_video.json` the page uses (written by `lss-eval export-onnx`). */
export interface VideoModelMeta {
  readonly format: string;
  readonly frames: number;
  readonly imageSize: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly embedDim: number;
  readonly quantize?: string;
  readonly source?: { readonly label?: string };
}

export interface ModelFolder {
  /** Absolute URL of the folder, ending in `/`. */
  readonly url: string;
  readonly meta: VideoModelMeta;
  readonly tokenizer: Tokenizer;
  readonly video: Ort.InferenceSession;
  readonly text: Ort.InferenceSession;
  /** Bytes fetched (both towers and the tokenizer). */
  readonly bytes: number;
}

export type LoadProgress = (fraction: number, message: string) => void;

const EXPORT_HINT = 'Write the folder with `lss-eval export-onnx --model PATH --out DIR` and serve DIR as it is.';

async function fetchOk(url: string, what: string, missingHint: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ConfigError(
      `Could not fetch ${what} from ${url} (${(e as Error).message}); expected the model folder to be served by the same site.`,
    );
  }
  if (!res.ok) throw new ConfigError(`The model folder has no ${what}: ${url} answered HTTP ${res.status}. ${missingHint}`);
  return res;
}

async function fetchJson(url: string, what: string, missingHint: string): Promise<Record<string, unknown>> {
  const text = await (await fetchOk(url, what, missingHint)).text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(
      `${what} at ${url} is not valid JSON (${(e as Error).message}; starts ${JSON.stringify(text.slice(0, 40))}). ${missingHint}`,
    );
  }
}

/** Checks `lss_video.json`; throws {@link ConfigError} naming the first bad field. */
export function parseVideoMeta(raw: Record<string, unknown>, url: string): VideoModelMeta {
  const bad = (field: string, expected: string) =>
    new ConfigError(`${url}: field ${field} is ${JSON.stringify(raw[field])}; expected ${expected}. ${EXPORT_HINT}`);
  if (raw.format !== 'lss-onnx-video/1') throw bad('format', '"lss-onnx-video/1"');
  for (const f of ['frames', 'imageSize', 'embedDim'] as const) {
    const v = raw[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(f, 'a positive integer');
  }
  for (const f of ['mean', 'std'] as const) {
    const v = raw[f];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad(f, 'three numbers');
  }
  return raw as unknown as VideoModelMeta;
}

async function fetchBytes(url: string, what: string, onBytes: (n: number) => void): Promise<Uint8Array> {
  const res = await fetchOk(url, what, EXPORT_HINT);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
    onBytes(value.length);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function createSession(ort: typeof Ort, bytes: Uint8Array, url: string, providers: readonly string[]): Promise<Ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: [...providers], graphOptimizationLevel: 'all' });
  } catch (e) {
    const reason = String((e as Error)?.message ?? e)
      .split('\n')[0]
      ?.slice(0, 300);
    throw new WeightsError(
      `${url} (${bytes.length} bytes) could not be loaded by onnxruntime-web (${reason}); expected a valid ONNX model. The file is damaged or incomplete: export the folder again (lss-eval export-onnx) or check the server sends it unchanged.`,
    );
  }
}

/**
 * Fetches and opens the model folder at `folderUrl`. Errors: a missing or malformed `lss_video.json`, missing
 * tokenizer files ({@link ConfigError}), an ONNX file onnxruntime-web cannot load ({@link WeightsError}).
 */
export async function loadModelFolder(
  ort: typeof Ort,
  folderUrl: string,
  options: { executionProviders?: readonly string[]; onProgress?: LoadProgress } = {},
): Promise<ModelFolder> {
  const url = new URL(folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`, document.baseURI).href;
  const progress = options.onProgress ?? (() => {});
  const providers = options.executionProviders ?? ['wasm'];
  progress(0, `Reading ${url}lss_video.json`);
  const metaUrl = `${url}lss_video.json`;
  const meta = parseVideoMeta(await fetchJson(metaUrl, 'lss_video.json', `Is ${url} an exported model folder? ${EXPORT_HINT}`), metaUrl);
  const tokHint = `The folder needs tokenizer.json and tokenizer_config.json next to lss_video.json (lss-eval export-onnx copies them from the CLIP folder); copy them from the CLIP folder the model came from.`;
  const tokenizerJson = await fetchJson(`${url}tokenizer.json`, 'tokenizer.json', tokHint);
  const tokenizerConfig = await fetchJson(`${url}tokenizer_config.json`, 'tokenizer_config.json', tokHint);
  let tokenizer: Tokenizer;
  try {
    tokenizer = createClipTokenizer(new HfTokenizer(tokenizerJson, tokenizerConfig), { id: url });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(
      `${url}tokenizer.json could not be read as a Hugging Face tokenizer (${(e as Error).message}); expected the files as saved by transformers' save_pretrained. ${tokHint}`,
    );
  }
  const videoUrl = `${url}onnx/video_model.onnx`;
  const textUrl = `${url}onnx/text_model.onnx`;
  // Sizes for the progress bar (HEAD is cheap; a server without Content-Length just gives a coarser bar).
  const sizes = await Promise.all(
    [videoUrl, textUrl].map(async (u) =>
      Number((await fetch(u, { method: 'HEAD' }).catch(() => undefined))?.headers.get('content-length') ?? 0),
    ),
  );
  const expected = sizes.reduce((a, b) => a + b, 0);
  let got = 0;
  const onBytes = (n: number) => {
    got += n;
    if (expected > 0) progress(Math.min(0.95, (0.9 * got) / expected), `Downloading the model (${(got / 1e6).toFixed(1)} MB)`);
  };
  const videoBytes = await fetchBytes(videoUrl, 'onnx/video_model.onnx', onBytes);
  const textBytes = await fetchBytes(textUrl, 'onnx/text_model.onnx', onBytes);
  progress(0.95, 'Starting onnxruntime-web');
  const video = await createSession(ort, videoBytes, videoUrl, providers);
  const text = await createSession(ort, textBytes, textUrl, providers);
  for (const [session, input, output, u] of [
    [video, 'pixel_values', 'video_embeds', videoUrl],
    [text, 'input_ids', 'text_embeds', textUrl],
  ] as const) {
    if (!session.inputNames.includes(input) || !session.outputNames.includes(output)) {
      throw new WeightsError(
        `${u} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; expected input ${input} and output ${output}. ${EXPORT_HINT}`,
      );
    }
  }
  progress(1, 'Model ready');
  return { url, meta, tokenizer, video, text, bytes: videoBytes.length + textBytes.length };
}
