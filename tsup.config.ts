import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', vitest: 'src/testing/vitest.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // tsup's CommonJS chunking rewrote `this.#x = …` into assignments to exports named x;
  // each entry is one file instead (shared state meets through globalThis anyway)
  splitting: false,
  // import.meta.url in the CommonJS build (src/core/peer.ts loads the drivers with createRequire)
  shims: true,
  external: ['pg', 'ioredis', 'vitest', 'prom-client', '@opentelemetry/api'],
});
