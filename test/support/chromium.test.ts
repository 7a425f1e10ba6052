import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeChromium, resolveChromium } from './chromium.js';

describe('resolveChromium: $CHROMIUM_PATH, then the system Chromium, then the npm one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallax-chromium-'));
  const fromEnv = join(dir, 'env-chromium');
  const system = join(dir, 'system-chromium');
  const npm = join(dir, 'npm-chromium');
  for (const file of [fromEnv, system, npm]) writeFileSync(file, '');
  const missing = join(dir, 'missing');
  let unpacked = 0;
  const unpackNpmChromium = async () => {
    unpacked += 1;
    return npm;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('$CHROMIUM_PATH wins over an installed system Chromium, and nothing is unpacked', async () => {
    unpacked = 0;
    const found = await resolveChromium({ env: { CHROMIUM_PATH: fromEnv }, systemPath: system, unpackNpmChromium });
    expect(found).toEqual({ executablePath: fromEnv, source: 'CHROMIUM_PATH' });
    expect(unpacked).toBe(0);
  });

  it('a $CHROMIUM_PATH that names no file is an error naming CHROMIUM_PATH, not a silent fallback', async () => {
    unpacked = 0;
    await expect(resolveChromium({ env: { CHROMIUM_PATH: missing }, systemPath: system, unpackNpmChromium })).rejects.toThrow(
      `CHROMIUM_PATH is ${JSON.stringify(missing)}, but there is no file there`,
    );
    expect(unpacked).toBe(0);
  });

  it('without $CHROMIUM_PATH (or with it empty) the system Chromium is used when it exists', async () => {
    for (const env of [{}, { CHROMIUM_PATH: '' }]) {
      expect(await resolveChromium({ env, systemPath: system, unpackNpmChromium })).toEqual({ executablePath: system, source: 'system' });
    }
  });

  it('with neither, the npm Chromium is unpacked and used', async () => {
    unpacked = 0;
    const found = await resolveChromium({ env: {}, systemPath: missing, unpackNpmChromium });
    expect(found).toEqual({ executablePath: npm, source: '@sparticuz/chromium' });
    expect(unpacked).toBe(1);
    expect(describeChromium(found)).toBe(`Chromium from @sparticuz/chromium: ${npm}`);
  });

  it('an npm Chromium that reports a path with no file there is an error', async () => {
    await expect(resolveChromium({ env: {}, systemPath: missing, unpackNpmChromium: async () => missing })).rejects.toThrow(
      `@sparticuz/chromium reported ${missing}, but there is no file there`,
    );
  });

  it('the real @sparticuz/chromium devDependency unpacks an executable Chromium', async () => {
    const found = await resolveChromium({ env: {}, systemPath: missing });
    expect(found.source).toBe('@sparticuz/chromium');
    expect(() => accessSync(found.executablePath, constants.X_OK)).not.toThrow();
  });
});
