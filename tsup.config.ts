import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    vitest: 'src/testing/vitest.ts',
    prometheus: 'src/metrics/prometheus.ts',
    otel: 'src/metrics/otel.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // tsup's CommonJS chunking rewrote `this.#x = …` into assignments to exports named x;
  // each entry is one file instead (shared state meets through globalThis anyway)
  splitting: false,
  external: ['pg', 'ioredis', 'vitest', 'prom-client', '@opentelemetry/api'],
});
