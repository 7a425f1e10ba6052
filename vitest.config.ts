import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import the package by its public name, resolved to the sources.
    alias: [
      { find: /^parallax-edge$/, replacement: here('./src/index.ts') },
      { find: /^parallax-edge\/http$/, replacement: here('./src/http/index.ts') },
      { find: /^parallax-edge\/adapter-kit$/, replacement: here('./src/adapter-kit.ts') },
      { find: /^parallax-edge\/testing$/, replacement: here('./testing/index.ts') },
      { find: /^parallax-edge\/connectors\/(.*)$/, replacement: here('./connectors/$1/index.ts') },
      { find: /^parallax-edge\/worker$/, replacement: here('./workers/public.ts') },
      { find: /^parallax-edge\/adapters\/(.*)$/, replacement: here('./adapters/$1.ts') },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts', 'test/**/*.workerd.test.ts'],
          testTimeout: 30_000,
        },
      },
      './vitest.browser.config.ts',
      './vitest.workers.config.ts',
    ],
  },
});
