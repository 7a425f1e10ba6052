/**
 * Debian's Chromium, as every browser test and benchmark launches it: no
 * download, and no background connections (this machine's closed network
 * refuses them, many at a time). TOOLCHAIN.md has the measured flags.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
