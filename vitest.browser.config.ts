/**
 * The browser project: tests named `*.browser.test.ts` run in headless
 * Chromium through Vitest browser mode, on the Chromium test/support/chromium.ts
 * finds ($CHROMIUM_PATH, /usr/bin/chromium, else the npm one), never one
 * downloaded by Playwright. Listed in the `projects` of vitest.config.ts; run
 * it alone with `npx vitest run --project browser`.
 */
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';
import { CHROMIUM_ARGS, resolveChromium } from './test/support/chromium.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// A factory: finding (or first unpacking) the npm Chromium is async.
export default defineProject(async (): Promise<UserWorkspaceConfig> => ({
  resolve: {
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
  optimizeDeps: {
    // Pre-bundled up front, so the first run does not reload the page half way.
    include: ['fast-check', 'idb', '@noble/hashes/blake3.js', '@noble/hashes/sha2.js', '@noble/hashes/utils.js'],
  },
  test: {
    name: 'browser',
    include: ['test/**/*.browser.test.ts'],
    testTimeout: 60_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: (await resolveChromium()).executablePath,
          args: [...CHROMIUM_ARGS],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
}));
