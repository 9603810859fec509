import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@lss/source'] },
  ssr: { resolve: { conditions: ['@lss/source'] } },
  test: {
    setupFiles: ['./test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-report.json' },
  },
});
