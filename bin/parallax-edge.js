#!/usr/bin/env node
// The `parallax-edge` command: a shim that runs the built CLI, dist/cli/main.js
// (built by `npm run build`). From sources, run `tsx cli/main.ts` instead.
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  process.stderr.write('parallax-edge: the CLI is not built; run `npm run build` in the package first\n');
  process.exit(2);
}
await cli.run(process.argv.slice(2));
