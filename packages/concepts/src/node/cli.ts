/**
 * `lss-concepts` command:
 *   build                  --model <clip dir> --labels lss-a|lss-b|lss-c [--descriptions] --cache <dir> [--templates default|kinetics700|ucf101|<file.json>]
 *   generate-descriptions  --labels k400|ucf101|hmdb51|<file.csv> --base-url <url> --model <name> --out <file.json> [--api-key-env NAME] [--rpm 60] [--max-retries 5] [--min 4] [--max 6] [--limit N]
 *   generate-vocabulary    --base-url <url> --model <name> --out <file.json> [--target 1000] [--per-request 100] [--api-key-env NAME] [--rpm 60] [--max-retries 5]
 */
import { parseArgs } from 'node:util';
import { ConfigError, LssError } from '@lss/core';
import { DEFAULT_CATEGORY_TEMPLATES } from '../build.js';
import { buildConceptSpaces } from './build-spaces.js';
import { loadDatasetClasses, loadPromptTemplates, resolveDatasetName } from './data.js';
import { createChatClient, generateDescriptions, generateVocabulary } from './generate.js';

export const CLI_USAGE = `Usage: lss-concepts <command> [options]

Commands:
  build                  Build (or load from the cache) the category space of a label set, and the description space.
      --model <dir>        CLIP folder with onnx/text_model.onnx and tokenizer files (required)
      --labels <set>       lss-a | lss-b | lss-c (default lss-b)
      --descriptions       also build the description space
      --cache <dir>        cache folder (required)
      --templates <t>      default | kinetics700 | ucf101 | <file.json> (default: "{}" and "a video of a person {}.")
  generate-descriptions  Write 4-6 visual descriptions per class through an OpenAI-compatible chat endpoint.
      --labels <d>         k400 | ucf101 | hmdb51 | <file.csv> (required)
      --out <file.json>    output, resumed if present (required)
      --min 4 --max 6      descriptions per class; --limit <n> stop after n new classes
  generate-vocabulary    Grow an action vocabulary (LSS-C) through an OpenAI-compatible chat endpoint.
      --out <file.json>    output, resumed if present (required)
      --target 1000        distinct actions wanted; --per-request 100
  Endpoint options (generate-*): --base-url <url> --model <name> [--api-key-env OPENAI_API_KEY] [--rpm 60] [--max-retries 5]
`;

export interface CliIo {
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const defaultIo: CliIo = { log: (l) => console.log(l), error: (l) => console.error(l), env: process.env };

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--${name}: received ${JSON.stringify(v)}; expected a positive number.`);
  return n;
}

function need(v: string | undefined, name: string): string {
  if (!v) throw new ConfigError(`--${name} is required.\n\n${CLI_USAGE}`);
  return v;
}

/** Runs the command line; returns the exit code (0 ok, 1 error, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.log(CLI_USAGE);
    return command ? 0 : 2;
  }
  try {
    const { values } = parseArgs({
      args: [...rest],
      strict: true,
      options: {
        model: { type: 'string' },
        labels: { type: 'string' },
        descriptions: { type: 'boolean' },
        cache: { type: 'string' },
        templates: { type: 'string' },
        'base-url': { type: 'string' },
        out: { type: 'string' },
        'api-key-env': { type: 'string' },
        rpm: { type: 'string' },
        'max-retries': { type: 'string' },
        min: { type: 'string' },
        max: { type: 'string' },
        limit: { type: 'string' },
        target: { type: 'string' },
        'per-request': { type: 'string' },
      },
    });
    if (command === 'build') {
      const t = values.templates;
      const templates = !t || t === 'default' ? DEFAULT_CATEGORY_TEMPLATES : loadPromptTemplates(t);
      const started = Date.now();
      const built = await buildConceptSpaces({
        modelDir: need(values.model, 'model'),
        labelSet: values.labels ?? 'lss-b',
        descriptions: values.descriptions ?? false,
        cacheDir: need(values.cache, 'cache'),
        templates,
        log: io.log,
      });
      io.log(
        `done in ${Date.now() - started} ms: ${built.labelSet.name} category ${built.category.space.shape.join('x')} (${built.category.cached ? 'cached' : 'built'}) ${built.category.path}` +
          (built.description
            ? `; description ${built.description.space.shape.join('x')} (${built.description.cached ? 'cached' : 'built'}) ${built.description.path}`
            : ''),
      );
      return 0;
    }
    if (command === 'generate-descriptions' || command === 'generate-vocabulary') {
      const keyEnv = values['api-key-env'] ?? 'OPENAI_API_KEY';
      const apiKey = io.env[keyEnv];
      if (values['api-key-env'] && !apiKey) throw new ConfigError(`--api-key-env ${keyEnv}: that environment variable is not set.`);
      const client = createChatClient({
        baseUrl: need(values['base-url'], 'base-url'),
        model: need(values.model, 'model'),
        ...(apiKey ? { apiKey } : {}),
        requestsPerMinute: num(values.rpm, 'rpm', 60),
        maxRetries: Math.floor(num(values['max-retries'], 'max-retries', 5)),
        log: io.log,
      });
      const out = need(values.out, 'out');
      if (command === 'generate-descriptions') {
        const labels = need(values.labels, 'labels');
        const dataset = labels.endsWith('.csv') ? labels : resolveDatasetName(labels);
        const r = await generateDescriptions({
          client,
          dataset,
          classes: loadDatasetClasses(labels),
          out,
          min: num(values.min, 'min', 4),
          max: num(values.max, 'max', 6),
          ...(values.limit ? { limit: num(values.limit, 'limit', 0) } : {}),
          log: io.log,
        });
        io.log(`descriptions: ${r.generated} classes generated, ${r.skipped} already done -> ${r.out} (${client.requests} requests)`);
      } else {
        const r = await generateVocabulary({
          client,
          out,
          target: num(values.target, 'target', 1000),
          perRequest: num(values['per-request'], 'per-request', 100),
          log: io.log,
        });
        io.log(`vocabulary: ${r.generated} new actions, ${r.skipped} kept -> ${r.out} (${client.requests} requests)`);
      }
      return 0;
    }
    io.error(`Unknown command ${JSON.stringify(command)}.\n\n${CLI_USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof LssError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.error(`lss-concepts ${command}: ${(error as Error).message}`);
      return (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
    }
    throw error;
  }
}
