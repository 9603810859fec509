import { defineConfig } from 'tsup';

export default defineConfig({
  // node/worker is started by the loader as `new URL('./worker.js', import.meta.url)`; node/cli is the lss-data bin.
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'node/worker': 'src/node/worker.ts', 'node/cli': 'src/node/cli.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
