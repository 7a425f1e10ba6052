/**
 * The workerd project: tests named `*.workerd.test.ts` run inside the Workers
 * runtime (workerd, through @cloudflare/vitest-pool-workers) with a real local
 * D1 bound as `DB`, configured from wrangler.toml. Listed in the `projects` of
 * vitest.config.ts.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineProject({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: here('./wrangler.toml') },
      // wrangler.toml's Worker with the test registry: its SyncWorkflow (binding SYNC_WORKFLOW) runs the tests' connectors.
      main: here('./test/workers/support/workflow-main.ts'),
      miniflare: {
        bindings: {
          // The migrations wrangler applies, for applyD1Migrations() in beforeEach.
          TEST_MIGRATIONS: await readD1Migrations(here('./workers/migrations')),
        },
      },
    })),
  ],
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
  test: {
    name: 'workerd',
    include: ['test/**/*.workerd.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
