import { describe, expect, it } from 'vitest';
import { main } from './cli.js';

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (t) => err.push(t) });
  return { code, err: err.join('\n') };
}

describe('lss-train flags', () => {
  it('a bad --backend or --max-steps is reported under its own flag, not as the --set it becomes', async () => {
    const backend = await run(['--backend', 'gpu', '--print-config']);
    expect(backend.code).toBe(1);
    expect(backend.err).toMatch(/^ConfigError: --backend: received "gpu"; expected one of wasm, cpu, torch, auto/);
    expect(backend.err).not.toContain('--set');
    const steps = await run(['--max-steps', 'ten', '--print-config']);
    expect(steps.code).toBe(1);
    expect(steps.err).toContain('--max-steps: received "ten"; expected a positive integer');
    expect(steps.err).not.toContain('--set');
  });
});
