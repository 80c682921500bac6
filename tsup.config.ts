import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      vitest: 'src/testing/vitest.ts',
      http: 'src/admin.ts',
      prometheus: 'src/metrics/prometheus.ts',
      otel: 'src/metrics/otel.ts',
    },
    format: ['esm', 'cjs'],
    // only the documented API in dist/*.d.ts: members marked @internal are dropped (the
    // internal modules' declarations are then unreferenced, and left out of the bundle)
    dts: { compilerOptions: { stripInternal: true } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    // tsup's CommonJS chunking rewrote `this.#x = …` into assignments to exports named x;
    // each entry is one file instead (shared state meets through globalThis anyway)
    splitting: false,
    // import.meta.url in the CommonJS build (src/core/peer.ts loads the drivers with createRequire)
    shims: true,
    external: ['pg', 'ioredis', 'vitest', 'prom-client', '@opentelemetry/api'],
  },
  {
    // the `lifeguard` command: one ESM file, shebang kept (tsup also makes it executable)
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: false,
    external: ['pg', 'ioredis', 'commander'],
    define: { __LIFEGUARD_VERSION__: JSON.stringify(version) },
  },
]);
