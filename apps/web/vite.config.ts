import { defineConfig } from 'vite';

// `base: './'` makes the build work from any folder of a static server (and from `vite preview`).
// '@lss/source' resolves the workspace libraries to their TypeScript sources, so the page needs no library build.
export default defineConfig({
  base: './',
  resolve: { conditions: ['@lss/source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
