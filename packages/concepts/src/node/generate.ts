/**
 * Regenerating descriptions and vocabularies through any OpenAI-compatible chat endpoint
 * (`POST {baseUrl}/v1/chat/completions`): rate-limited, retried with exponential backoff (429, 5xx,
 * network errors, malformed answers), resumable (the output file is rewritten after every class or
 * request, and finished entries are skipped on the next run).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, DataError, LssError } from '@lss/core';
import { writeFileAtomic } from '@lss/core/node';
import { type ClassDescriptions, type DescriptionFile, MAX_DESCRIPTIONS, MIN_DESCRIPTIONS, MIN_VOCABULARY } from '../descriptions.js';
import { type DatasetClass, normalizeLabel } from '../labels.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatClientOptions {
  /** e.g. `http://127.0.0.1:8000` or `https://api.openai.com` (`/v1/chat/completions` is appended unless the URL already ends in `/v1`). */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  /** Requests started per minute at most (default 60). */
  readonly requestsPerMinute?: number;
  /** Retries after a failed request (429, 5xx, network error, timeout); default 5. */
  readonly maxRetries?: number;
  /** First backoff in ms, doubled each retry (default 1000), capped by `maxBackoffMs` (default 60000). A `Retry-After` header is honoured when larger. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per-request timeout in ms (default 120000). */
  readonly timeoutMs?: number;
  readonly temperature?: number;
  readonly log?: (line: string) => void;
  /** For tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ChatClient {
  /** The assistant message text of one completion. */
  complete(messages: readonly ChatMessage[]): Promise<string>;
  /** Requests sent so far (retries included). */
  readonly requests: number;
}

/** An endpoint kept failing or answered with a non-retryable error. */
class ChatEndpointError extends LssError {}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function endpointUrl(baseUrl: string): string {
  const b = baseUrl.replace(/\/+$/, '');
  if (b.endsWith('/chat/completions')) return b;
  return b.endsWith('/v1') ? `${b}/chat/completions` : `${b}/v1/chat/completions`;
}

/** A minimal OpenAI-compatible chat client with a request-rate limit and retries. */
export function createChatClient(options: ChatClientOptions): ChatClient {
  if (!options.baseUrl) throw new ConfigError('baseUrl: expected the endpoint base URL, e.g. http://127.0.0.1:8000.');
  if (!options.model) throw new ConfigError('model: expected a model name the endpoint serves.');
  const rpm = options.requestsPerMinute ?? 60;
  if (!(rpm > 0)) throw new ConfigError(`requestsPerMinute: received ${rpm}; expected a positive number.`);
  const maxRetries = options.maxRetries ?? 5;
  const initial = options.initialBackoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const sleep = options.sleep ?? defaultSleep;
  const url = endpointUrl(options.baseUrl);
  const interval = 60_000 / rpm;
  let nextSlot = 0;
  let requests = 0;

  async function waitForSlot(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, nextSlot);
    nextSlot = at + interval;
    if (at > now) await sleep(at - now);
  }

  async function once(
    messages: readonly ChatMessage[],
  ): Promise<{ ok: true; text: string } | { ok: false; retry: boolean; waitMs?: number; why: string }> {
    await waitForSlot();
    requests++;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
        body: JSON.stringify({ model: options.model, messages, temperature: options.temperature ?? 0.7 }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return { ok: false, retry: true, why: `network error: ${(error as Error).message}` };
    }
    const body = await res.text().catch(() => '');
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      return { ok: false, retry: true, why: `HTTP ${res.status}`, ...(Number.isFinite(ra) && ra > 0 ? { waitMs: ra * 1000 } : {}) };
    }
    if (!res.ok) return { ok: false, retry: false, why: `HTTP ${res.status}: ${body.slice(0, 300)}` };
    try {
      const json = JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] };
      const text = json.choices?.[0]?.message?.content;
      if (typeof text !== 'string') return { ok: false, retry: true, why: 'response without choices[0].message.content' };
      return { ok: true, text };
    } catch {
      return { ok: false, retry: true, why: `response is not JSON: ${body.slice(0, 120)}` };
    }
  }

  return {
    get requests() {
      return requests;
    },
    async complete(messages) {
      let why = '';
      for (let attempt = 0; attempt <= maxRetries; attempt++) {
        const r = await once(messages);
        if (r.ok) return r.text;
        why = r.why;
        if (!r.retry) throw new ChatEndpointError(`${url}: ${r.why}. Check --base-url, --model and the API key.`);
        if (attempt === maxRetries) break;
        const backoff = Math.max(Math.min(initial * 2 ** attempt, maxBackoff), r.waitMs ?? 0);
        options.log?.(`request failed (${r.why}); retry ${attempt + 1}/${maxRetries} in ${backoff} ms`);
        await sleep(backoff);
      }
      throw new ChatEndpointError(`${url}: failed ${maxRetries + 1} times, last: ${why}. Try later or lower --rpm.`);
    },
  };
}

/**
 * Parses an answer that should be a JSON list of strings: code fences are removed, an object with a
 * single list value (`{"descriptions": [...]}`) is accepted, and the first `[...]` span is tried when
 * there is text around it. Returns undefined when no list of strings can be read.
 */
export function parseStringList(answer: string): string[] | undefined {
  const text = answer.replace(/```(?:json)?/gi, '').trim();
  const attempts = [text];
  const a = text.indexOf('[');
  const b = text.lastIndexOf(']');
  if (a >= 0 && b > a) attempts.push(text.slice(a, b + 1));
  for (const t of attempts) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      continue;
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const lists = Object.values(v).filter(Array.isArray);
      if (lists.length === 1) v = lists[0];
    }
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v.map((s: string) => s.replace(/\s+/g, ' ').trim());
  }
  return undefined;
}

function checkDescriptions(list: string[] | undefined, min: number, max: number): string | undefined {
  if (!list) return 'not a JSON list of strings';
  if (list.length < min || list.length > max) return `${list.length} items, expected ${min} to ${max}`;
  if (list.some((s) => s === '')) return 'an empty item';
  if (new Set(list.map((s) => s.toLowerCase())).size !== list.length) return 'duplicate items';
  return undefined;
}

export interface GenerationResult {
  /** Entries generated by this run. */
  readonly generated: number;
  /** Entries found done in the output file and skipped. */
  readonly skipped: number;
  readonly out: string;
}

export interface GenerateDescriptionsOptions {
  readonly client: ChatClient;
  readonly dataset: string;
  readonly classes: readonly DatasetClass[];
  /** Output JSON (`{ dataset, classes: [...] }`); read first to resume. */
  readonly out: string;
  readonly min?: number;
  readonly max?: number;
  /** Attempts per class when answers are malformed (default 4). */
  readonly maxAttempts?: number;
  /** Stop after this many newly generated classes (for batching runs). */
  readonly limit?: number;
  readonly log?: (line: string) => void;
}

const DESCRIPTION_SYSTEM =
  'You write short visual descriptions of human actions for a video recognition system. Answer with a JSON list of strings only.';

function descriptionPrompt(name: string, min: number, max: number): string {
  return `Action: "${normalizeLabel(name)}". Write ${min} to ${max} short, distinct sentences (each under 20 words) describing what is SEEN in a video of this action: body parts and posture, objects and tools, the scene or place, and the motion. Do not name the action itself in every sentence. Answer with a JSON list of strings, nothing else.`;
}

function readResume<T>(out: string, fallback: T): T {
  if (!existsSync(out)) return fallback;
  try {
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } catch (cause) {
    throw new DataError(`${out} exists but is not valid JSON (${(cause as Error).message}); move it away to start over.`, {
      file: out,
      cause,
    });
  }
}

/**
 * Generates `min`-`max` descriptions per class, one request per class. Classes already in `out` with a
 * valid list are skipped; the file is rewritten (atomically) after each class, so an interrupted run
 * resumes where it stopped.
 */
export async function generateDescriptions(options: GenerateDescriptionsOptions): Promise<GenerationResult> {
  const min = options.min ?? MIN_DESCRIPTIONS;
  const max = options.max ?? MAX_DESCRIPTIONS;
  const maxAttempts = options.maxAttempts ?? 4;
  mkdirSync(dirname(options.out), { recursive: true });
  const existing = readResume<DescriptionFile>(options.out, { dataset: options.dataset, classes: [] });
  const done = new Map<number, ClassDescriptions>();
  for (const c of existing.classes ?? []) if (!checkDescriptions([...(c.descriptions ?? [])], min, max)) done.set(c.id, c);
  const write = (): void => {
    const classes = [...done.values()].sort((a, b) => a.id - b.id);
    writeFileAtomic(options.out, `${JSON.stringify({ dataset: options.dataset, classes }, null, 2)}\n`);
  };
  let generated = 0;
  let skipped = 0;
  for (const c of options.classes) {
    if (done.has(c.id)) {
      skipped++;
      continue;
    }
    if (options.limit !== undefined && generated >= options.limit) break;
    let list: string[] | undefined;
    let problem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const answer = await options.client.complete([
        { role: 'system', content: DESCRIPTION_SYSTEM },
        { role: 'user', content: descriptionPrompt(c.name, min, max) },
      ]);
      const parsed = parseStringList(answer);
      const bad = checkDescriptions(parsed, min, max);
      if (!bad) {
        list = parsed;
        break;
      }
      problem = bad;
      options.log?.(`class ${c.id} (${c.name}): malformed answer (${bad}); attempt ${attempt}/${maxAttempts}`);
    }
    if (!list) {
      throw new DataError(
        `Class ${c.id} (${c.name}): no valid answer in ${maxAttempts} attempts (last: ${problem}). Progress is saved in ${options.out}; rerun to resume.`,
      );
    }
    done.set(c.id, { id: c.id, name: c.name, descriptions: list });
    write();
    generated++;
    options.log?.(`class ${c.id} (${c.name}): ${list.length} descriptions`);
  }
  if (generated === 0 && !existsSync(options.out)) write();
  return { generated, skipped, out: options.out };
}

export interface GenerateVocabularyOptions {
  readonly client: ChatClient;
  /** Output JSON (`{ actions: [...] }`); read first to resume. */
  readonly out: string;
  /** Distinct actions wanted (default 1000). */
  readonly target?: number;
  /** Actions asked for per request (default 100). */
  readonly perRequest?: number;
  /** Give up after this many requests (default 4 * target / perRequest + 10). */
  readonly maxRequests?: number;
  /** Attempts per request when answers are malformed (default 4). */
  readonly maxAttempts?: number;
  /** Themes cycled through, one per request, to spread the vocabulary. */
  readonly topics?: readonly string[];
  readonly log?: (line: string) => void;
}

const VOCABULARY_TOPICS = [
  'sports and athletics',
  'household chores',
  'cooking and eating',
  'music and dance',
  'personal care and grooming',
  'work and crafts',
  'outdoor and nature activities',
  'social interaction and communication',
  'vehicles and transport',
  'water activities',
  'winter activities',
  'playing with animals',
  'games and hobbies',
  'fitness and exercise',
  'art and making things',
  'children playing',
];

/**
 * Grows a vocabulary of distinct short action phrases (lower-case verb phrases) to `target` entries,
 * one themed request at a time; duplicates (after {@link normalizeLabel}) are dropped. The file is
 * rewritten after each request; a rerun resumes from it.
 */
export async function generateVocabulary(options: GenerateVocabularyOptions): Promise<GenerationResult> {
  const target = options.target ?? MIN_VOCABULARY;
  const per = options.perRequest ?? 100;
  const maxRequests = options.maxRequests ?? Math.ceil((4 * target) / per) + 10;
  const maxAttempts = options.maxAttempts ?? 4;
  const topics = options.topics ?? VOCABULARY_TOPICS;
  mkdirSync(dirname(options.out), { recursive: true });
  const existing = readResume<{ actions?: unknown[] }>(options.out, { actions: [] });
  const actions: string[] = [];
  const seen = new Set<string>();
  for (const a of existing.actions ?? []) {
    if (typeof a !== 'string') continue;
    const k = normalizeLabel(a);
    if (k !== '' && !seen.has(k)) {
      seen.add(k);
      actions.push(k);
    }
  }
  const skipped = actions.length;
  let request = 0;
  while (actions.length < target) {
    if (request >= maxRequests) {
      throw new DataError(
        `Vocabulary: ${actions.length} distinct actions after ${request} requests; expected ${target}. Progress is saved in ${options.out}; rerun to continue.`,
      );
    }
    const topic = topics[(skipped + request) % topics.length] as string;
    const avoid = actions.slice(-60).join('; ');
    request++;
    let list: string[] | undefined;
    for (let attempt = 1; attempt <= maxAttempts && !list; attempt++) {
      const answer = await options.client.complete([
        {
          role: 'system',
          content: 'You list human actions that can be recognised in short videos. Answer with a JSON list of strings only.',
        },
        {
          role: 'user',
          content: `List ${per} distinct human actions related to ${topic}, each a short lower-case verb phrase such as "riding a bike" or "peeling potatoes".${avoid ? ` Do not repeat these: ${avoid}.` : ''} Answer with a JSON list of strings, nothing else.`,
        },
      ]);
      const parsed = parseStringList(answer);
      if (parsed && parsed.length > 0 && parsed.every((s) => s !== '')) list = parsed;
      else options.log?.(`vocabulary request ${request}: malformed answer; attempt ${attempt}/${maxAttempts}`);
    }
    if (!list)
      throw new DataError(
        `Vocabulary request ${request}: no valid answer in ${maxAttempts} attempts. Progress is saved in ${options.out}.`,
      );
    for (const a of list) {
      const k = normalizeLabel(a);
      if (k !== '' && !seen.has(k)) {
        seen.add(k);
        actions.push(k);
      }
    }
    writeFileAtomic(options.out, `${JSON.stringify({ actions }, null, 2)}\n`);
    options.log?.(`vocabulary: ${actions.length}/${target} after request ${request} (${topic})`);
  }
  if (request === 0 && !existsSync(options.out)) writeFileAtomic(options.out, `${JSON.stringify({ actions }, null, 2)}\n`);
  return { generated: actions.length - skipped, skipped, out: options.out };
}
