import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * The in-browser demo: `npm run demo` builds it into web-demo/dist and serves
 * it on http://127.0.0.1:4173. Like vitest.config.ts, the package's public
 * names resolve to the sources, so the demo runs the same files as the tests.
 */
export default defineConfig({
  root: here('.'),
  base: './',
  resolve: {
    alias: [
      { find: /^parallax-edge$/, replacement: here('../src/index.ts') },
      { find: /^parallax-edge\/http$/, replacement: here('../src/http/index.ts') },
      { find: /^parallax-edge\/adapters\/(.*)$/, replacement: here('../adapters/$1.ts') },
      { find: /^parallax-edge\/connectors\/([^/]+)$/, replacement: here('../connectors/$1/index.ts') },
    ],
  },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
  },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
