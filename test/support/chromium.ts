/**
 * The Chromium every browser test and benchmark launches (Vitest browser mode,
 * the web demo's end-to-end test, the IndexedDB bench), so that `npm test`
 * needs no system browser. Found in this order:
 *
 * 1. `$CHROMIUM_PATH`, when set (a missing file there is an error, not a fallback);
 * 2. Debian's `/usr/bin/chromium` (`apt-get install -y chromium`), when it exists;
 * 3. the Chromium of the `@sparticuz/chromium` devDependency, unpacked to
 *    `/tmp/chromium` on first use (about 1 s; later calls reuse the file).
 *
 * Never a browser downloaded by `playwright install`.
 *
 * @example
 * const found = await resolveChromium();
 * const browser = await chromium.launch({ executablePath: found.executablePath, args: [...CHROMIUM_ARGS] });
 * console.log(describeChromium(found)); // "Chromium from @sparticuz/chromium: /tmp/chromium"
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's Chromium. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/**
 * Launch flags for whichever Chromium is found. No background connections:
 * this machine's closed network refuses them, many at a time. `--no-zygote`
 * and `--disable-dev-shm-usage` let the npm Chromium start in a container
 * (its own `chromium.args` crash with SIGTRAP there). TOOLCHAIN.md has the
 * measurements.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-zygote',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the Chromium came from. */
export type ChromiumSource = 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';

/** A Chromium executable and where it was found. */
export interface FoundChromium {
  readonly executablePath: string;
  readonly source: ChromiumSource;
}

export interface ResolveChromiumOptions {
  /** Environment to read `CHROMIUM_PATH` from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The system Chromium looked for second; default {@link SYSTEM_CHROMIUM}. */
  readonly systemPath?: string;
  /** Unpacks the npm Chromium and returns its path; default `@sparticuz/chromium`'s `executablePath()`. */
  readonly unpackNpmChromium?: () => Promise<string>;
}

async function unpackSparticuzChromium(): Promise<string> {
  const { default: chromium } = await import('@sparticuz/chromium');
  return chromium.executablePath();
}

/**
 * Finds the Chromium to launch: `$CHROMIUM_PATH`, else the system one, else
 * the npm one. Throws naming `CHROMIUM_PATH` when it points at no file.
 */
export async function resolveChromium(options: ResolveChromiumOptions = {}): Promise<FoundChromium> {
  const { env = process.env, systemPath = SYSTEM_CHROMIUM, unpackNpmChromium = unpackSparticuzChromium } = options;
  const fromEnv = env.CHROMIUM_PATH?.trim();
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(`CHROMIUM_PATH is ${JSON.stringify(fromEnv)}, but there is no file there; unset it to use ${systemPath} or the npm Chromium`);
    }
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH' };
  }
  if (existsSync(systemPath)) return { executablePath: systemPath, source: 'system' };
  const unpacked = await unpackNpmChromium();
  if (!existsSync(unpacked)) throw new Error(`@sparticuz/chromium reported ${unpacked}, but there is no file there`);
  return { executablePath: unpacked, source: '@sparticuz/chromium' };
}

/** One line saying which Chromium is used, for logs and CI. */
export function describeChromium(found: FoundChromium): string {
  const from = found.source === 'system' ? 'the system' : found.source === 'CHROMIUM_PATH' ? '$CHROMIUM_PATH' : '@sparticuz/chromium';
  return `Chromium from ${from}: ${found.executablePath}`;
}

// `npx tsx test/support/chromium.ts` says which Chromium the tests will launch (.ci/run prints it).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void resolveChromium().then((found) => {
    const version = execFileSync(found.executablePath, ['--version'], { encoding: 'utf8' }).trim();
    console.log(`${describeChromium(found)} (${version})`);
  });
}
