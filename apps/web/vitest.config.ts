import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@lss/source'] },
  ssr: { resolve: { conditions: ['@lss/source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['@lss/testing/setup'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The JSON report is read by tooling/scripts/test-summary.mjs, which prints one closing line for CI.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-report.json' },
  },
});
