import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.ts'],
    setupFiles: ['lifeguard/vitest'], // fails the test that leaked, with the line
  },
});
