/**
 * The generator against a local OpenAI-compatible stub (node:http on 127.0.0.1) that also answers
 * 429/500, malformed text, wrong item counts, and is interrupted and resumed.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateDescriptionFile } from '../descriptions.js';
import { runCli } from './cli.js';
import { createChatClient, generateDescriptions, generateVocabulary, parseStringList } from './generate.js';

type Reply = { status: number; body: string; headers?: Record<string, string> };
interface Seen {
  auth: string | undefined;
  model: string;
  user: string;
}

const ok = (content: string): Reply => ({ status: 200, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }) });
const goodList = (action: string, n = 5): string =>
  JSON.stringify(Array.from({ length: n }, (_, i) => `${action}: visual detail ${i + 1}`));

let server: Server;
let baseUrl = '';
let seen: Seen[] = [];
/** Scripted replies, used first; then `fallback`. */
let script: ((user: string) => Reply)[] = [];
let fallback: (user: string) => Reply = () => ({ status: 500, body: 'no fallback' });

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; messages: { role: string; content: string }[] };
      const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
      seen.push({ auth: req.headers.authorization, model: body.model, user });
      const reply = (script.shift() ?? fallback)(user);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  seen = [];
  script = [];
  fallback = (user) => ok(goodList(/Action: "([^"]+)"/.exec(user)?.[1] ?? 'x'));
});

const tmp = mkdtempSync(join(tmpdir(), 'lss-gen-'));
const classes = ['abseiling', 'air drumming', 'archery', 'arm wrestling', 'baking cookies'].map((name, id) => ({ id, name }));

describe('parseStringList', () => {
  it('reads plain lists, fenced lists, {"key": [...]} objects and lists inside text', () => {
    expect(parseStringList('["a", " b  c "]')).toEqual(['a', 'b c']);
    expect(parseStringList('```json\n["a"]\n```')).toEqual(['a']);
    expect(parseStringList('{"descriptions": ["a", "b"]}')).toEqual(['a', 'b']);
    expect(parseStringList('Sure! ["a", "b"] Hope it helps.')).toEqual(['a', 'b']);
    expect(parseStringList('Sure, here you go: a, b, c')).toBeUndefined();
    expect(parseStringList('[1, 2]')).toBeUndefined();
  });
});

describe('createChatClient', () => {
  it('retries 429/500 with exponential backoff, honours Retry-After, sends key and model', async () => {
    const sleeps: number[] = [];
    script = [
      () => ({ status: 429, body: 'slow down' }),
      () => ({ status: 500, body: 'boom' }),
      () => ({ status: 429, body: '', headers: { 'retry-after': '1' } }),
    ];
    const client = createChatClient({
      baseUrl,
      model: 'stub-model',
      apiKey: 'sk-test',
      initialBackoffMs: 10,
      requestsPerMinute: 1e9,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(await client.complete([{ role: 'user', content: 'hi' }])).toContain('visual detail');
    expect(sleeps).toEqual([10, 20, 1000]);
    expect(client.requests).toBe(4);
    expect(seen.every((s) => s.auth === 'Bearer sk-test' && s.model === 'stub-model')).toBe(true);
  });

  it('gives up after maxRetries and fails fast on 401', async () => {
    fallback = () => ({ status: 500, body: 'down' });
    const client = createChatClient({ baseUrl, model: 'm', maxRetries: 2, initialBackoffMs: 1, requestsPerMinute: 1e9 });
    await expect(client.complete([{ role: 'user', content: 'x' }])).rejects.toThrow(/failed 3 times, last: HTTP 500/);
    expect(seen).toHaveLength(3);
    seen = [];
    fallback = () => ({ status: 401, body: 'bad key' });
    await expect(client.complete([{ role: 'user', content: 'x' }])).rejects.toThrow(/HTTP 401: bad key/);
    expect(seen).toHaveLength(1);
  });

  it('limits the request rate', async () => {
    const client = createChatClient({ baseUrl, model: 'm', requestsPerMinute: 1200 }); // one request per 50 ms
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) await client.complete([{ role: 'user', content: 'x' }]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });
});

describe('generateDescriptions', () => {
  it('retries malformed answers, validates 4-6 items, and resumes after an interruption', async () => {
    const out = join(tmp, 'desc', 'k400.json');
    const client = createChatClient({ baseUrl, model: 'm', maxRetries: 1, initialBackoffMs: 1, requestsPerMinute: 1e9 });
    // Class 0: prose, then 3 items (too few), then a duplicate-item list, then valid. Class 1: valid.
    // Then the server goes down (500 forever): the run stops with classes 0 and 1 saved.
    script = [
      () => ok('Here are some descriptions of abseiling.'),
      () => ok(goodList('abseiling', 3)),
      () => ok('["a rope", "a rope", "a cliff", "a harness"]'),
      (u) => ok(goodList(/Action: "([^"]+)"/.exec(u)?.[1] ?? '', 4)),
      (u) => ok(`\`\`\`json\n${goodList(/Action: "([^"]+)"/.exec(u)?.[1] ?? '', 6)}\n\`\`\``),
    ];
    fallback = () => ({ status: 500, body: 'down' });
    const log: string[] = [];
    await expect(generateDescriptions({ client, dataset: 'kinetics400', classes, out, log: (l) => log.push(l) })).rejects.toThrow(
      /failed 2 times/,
    );
    expect(log.filter((l) => l.includes('malformed answer'))).toHaveLength(3);
    const partial = JSON.parse(readFileSync(out, 'utf8'));
    expect(partial.classes.map((c: { id: number }) => c.id)).toEqual([0, 1]);
    expect(partial.classes[0].descriptions).toHaveLength(4);
    expect(partial.classes[1].descriptions).toHaveLength(6);

    // Resume against a healthy server: only classes 2-4 are requested.
    seen = [];
    fallback = (u) => ok(goodList(/Action: "([^"]+)"/.exec(u)?.[1] ?? ''));
    const r = await generateDescriptions({ client, dataset: 'kinetics400', classes, out });
    expect(r).toMatchObject({ generated: 3, skipped: 2 });
    expect(seen.map((s) => /Action: "([^"]+)"/.exec(s.user)?.[1])).toEqual(['archery', 'arm wrestling', 'baking cookies']);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(validateDescriptionFile(file, classes)).toEqual([]);
    expect(file.classes[0].descriptions[0]).toBe('abseiling: visual detail 1');
  });

  it('fails a class after maxAttempts malformed answers, keeping earlier progress', async () => {
    const out = join(tmp, 'desc', 'bad.json');
    const client = createChatClient({ baseUrl, model: 'm', requestsPerMinute: 1e9 });
    script = [(u) => ok(goodList(/Action: "([^"]+)"/.exec(u)?.[1] ?? ''))];
    fallback = () => ok('[]');
    await expect(generateDescriptions({ client, dataset: 'x', classes, out, maxAttempts: 2 })).rejects.toThrow(
      /Class 1 \(air drumming\): no valid answer in 2 attempts \(last: 0 items, expected 4 to 6\)/,
    );
    expect(JSON.parse(readFileSync(out, 'utf8')).classes).toHaveLength(1);
  });
});

describe('generateVocabulary', () => {
  it('grows a de-duplicated vocabulary to the target across resumed runs', async () => {
    const out = join(tmp, 'vocab.json');
    let batch = 0;
    const actions = () => {
      batch++;
      // 30 actions per answer, 10 of them repeated from the previous answer.
      return ok(JSON.stringify(Array.from({ length: 30 }, (_, i) => `Action ${(batch - 1) * 20 + i}`)));
    };
    script = [() => ok('not a list'), actions];
    fallback = actions;
    const client = createChatClient({ baseUrl, model: 'm', requestsPerMinute: 1e9 });
    await expect(generateVocabulary({ client, out, target: 60, perRequest: 30, maxRequests: 1 })).rejects.toThrow(
      /30 distinct actions after 1 requests/,
    );
    expect(JSON.parse(readFileSync(out, 'utf8')).actions).toHaveLength(30);
    const r = await generateVocabulary({ client, out, target: 60, perRequest: 30 });
    expect(r.skipped).toBe(30);
    const final = JSON.parse(readFileSync(out, 'utf8')).actions as string[];
    expect(final.length).toBeGreaterThanOrEqual(60);
    expect(new Set(final).size).toBe(final.length);
    expect(final[0]).toBe('action 0');
    expect(seen.at(-1)?.user).toMatch(/Do not repeat these: .*action 29/);
  });
});

describe('lss-concepts generate-descriptions', () => {
  it('runs against the stub with the key from --api-key-env and resumes', async () => {
    const out = join(tmp, 'cli', 'hmdb.json');
    const args = [
      'generate-descriptions',
      '--labels',
      'hmdb51',
      '--base-url',
      `${baseUrl}/v1`,
      '--model',
      'stub',
      '--out',
      out,
      '--api-key-env',
      'MY_KEY',
      '--rpm',
      '100000',
      '--limit',
      '2',
    ];
    const lines: string[] = [];
    const env = { MY_KEY: 'sk-cli' };
    expect(await runCli(args, { log: (l) => lines.push(l), error: (l) => lines.push(l), env })).toBe(0);
    expect(lines.at(-1)).toMatch(/2 classes generated, 0 already done/);
    expect(seen.every((s) => s.auth === 'Bearer sk-cli')).toBe(true);
    expect(await runCli(args, { log: (l) => lines.push(l), error: (l) => lines.push(l), env })).toBe(0);
    expect(lines.at(-1)).toMatch(/2 classes generated, 2 already done/);
    const errs: string[] = [];
    expect(await runCli(args, { log: () => {}, error: (l) => errs.push(l), env: {} })).toBe(1);
    expect(errs[0]).toMatch(/MY_KEY: that environment variable is not set/);
  });
});
