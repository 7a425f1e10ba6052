/**
 * The quick start: serves the example API on 127.0.0.1 and runs the guide's
 * connector into the embedded SQLite store with the real CLI:
 *
 *   parallax-edge sync examples/my-service/connector.ts --store ./data/parallax.db --config <api url + token>
 *
 * Run it twice: the second sync finds nothing new, so every row is unchanged
 * and nothing is written (+P2). Pass `--changed` to serve the next generation
 * of the data and see updates, creations and deletions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exampleData, startExampleApi } from './api.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const changed = process.argv.includes('--changed');
const store = process.env.PARALLAX_STORE ?? join(root, 'data/parallax.db');

const api = await startExampleApi({ data: exampleData(changed ? 1 : 0) });
const configDir = mkdtempSync(join(tmpdir(), 'parallax-example-'));
try {
  const config = join(configDir, 'my-service.json');
  writeFileSync(config, JSON.stringify({ apiBaseUrl: api.url, apiToken: api.token }));
  const args = ['sync', join(root, 'examples/my-service/connector.ts'), '--store', store, '--account', 'my-account-id', '--config', config];
  console.log(`$ parallax-edge ${args.map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(' ')}`);
  // The CLI from sources (no build needed); `npx parallax-edge` is the same command built.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), ...args], { stdio: 'inherit', cwd: root });
  process.exitCode = await new Promise<number>((done) => child.on('exit', (code) => done(code ?? 1)));
} finally {
  rmSync(configDir, { recursive: true, force: true });
  await api.close();
}
