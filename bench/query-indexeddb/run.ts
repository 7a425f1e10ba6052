/**
 * The query benchmark on IndexedDB in headless Chromium: bundles page.ts
 * with esbuild, serves it on 127.0.0.1, runs it with playwright-core on the
 * Chromium test/support/chromium.ts finds, and returns the page's result.
 * `npm run bench:query -- --adapters sqlite,indexeddb` calls it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, resolveChromium } from '../../test/support/chromium.js';
import type { QueryBenchResult } from '../query-suite.js';

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function serve(script: string): Promise<Server> {
  const html = '<!doctype html><meta charset="utf-8"><title>parallax-edge query bench</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs the query workload at scale n in a fresh headless Chromium. */
export async function runIndexedDbQueryBench(n: number, repeat: number, log: (line: string) => void): Promise<QueryBenchResult> {
  const { executablePath } = await resolveChromium();
  const server = await serve(await bundlePage());
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => log(message.text()));
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'parallaxQueryBench' in globalThis);
    page.setDefaultTimeout(0);
    return await page.evaluate(
      ([n, repeat]) => (globalThis as unknown as { parallaxQueryBench: (n: number, r: number) => Promise<QueryBenchResult> }).parallaxQueryBench(n, repeat),
      [n, repeat] as const,
    );
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
