import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// Specifiers that tie code to one runtime. Bare package imports are allowed
// only from this list of web-standard libraries.
const ALLOWED_PACKAGES = ['@noble/hashes/', 'zod'];
const FORBIDDEN_GLOBALS = /\b(process\.|Buffer\.|require\(|__dirname|document\.|window\.|localStorage|indexedDB|Deno\.|Bun\.)/;

describe('src/ is platform-neutral (DESIGN layout)', () => {
  const files = sourceFiles(root);

  it('has sources to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((f) => [relative(root, f), f]))('%s imports only relative modules or web-standard libraries', (_name, file) => {
    // Comments hold examples that import the package by name: check code only.
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    const specifiers = [...code.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2]!,
    );
    for (const spec of specifiers) {
      const ok = spec.startsWith('.') || ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(p));
      expect(ok, `${spec} is not allowed in src/`).toBe(true);
    }
    expect(code).not.toMatch(FORBIDDEN_GLOBALS);
  });
});
