/**
 * Loading a connector module for `parallax-edge sync`.
 *
 * A connector module is a JavaScript or TypeScript file (`.js .mjs .cjs .ts
 * .mts .cts .tsx`). TypeScript is compiled on the fly by tsx. The module's
 * connector is, in this order of preference:
 *
 * 1. the export named by `--export NAME`, if given;
 * 2. the default export;
 * 3. the only named export that is a connector object, a connector class, or
 *    a function whose name contains "connector" (a factory).
 *
 * The export may be a {@link Connector} object (or class instance), a class
 * (constructed with the config), or a factory `(config) => Connector |
 * Promise<Connector>`. The config is the parsed `--config` JSON file, or `{}`.
 *
 * Imports of `parallax-edge` (and its subpaths) inside the module resolve to
 * the copy of parallax-edge that runs the CLI, so the builders and
 * `ConnectorError` the connector uses are the ones the runner checks.
 */
import { readFile, stat } from 'node:fs/promises';
import { register } from 'node:module';
import { dirname, extname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { ConnectorError, validateConnector, type Connector, type StepGraph } from '../src/index.js';
import { CliError, oneLine } from './errors.js';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);
const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', ...TS_EXTENSIONS]);

export interface LoadedConnector {
  readonly connector: Connector;
  /** The export the connector came from (`default` or a name). */
  readonly exportName: string;
  /** How it was obtained. */
  readonly via: 'object' | 'class' | 'factory';
  readonly graph: StepGraph;
}

export interface LoadOptions {
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** Passed to a factory or constructor. */
  readonly config: unknown;
  /** Use this export instead of choosing one. */
  readonly exportName?: string;
}

/** Reads and parses a `--config` file. Throws a one-line CliError naming the path. */
export async function readConfigFile(path: string, cwd: string): Promise<unknown> {
  const file = resolvePath(cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`config file ${path} not found`);
    if (code === 'EISDIR') throw new CliError(`config file ${path} is a directory, not a JSON file`);
    throw new CliError(`cannot read config file ${path}: ${oneLine(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`config file ${path} is not valid JSON: ${oneLine(error)}`);
  }
}

/** Imports a connector module, picks its connector, builds it with the config and validates it (INV-C05). */
export async function loadConnector(modulePath: string, options: LoadOptions): Promise<LoadedConnector> {
  const file = resolvePath(options.cwd, modulePath);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CliError(`connector module ${modulePath} not found`);
  if (!info.isFile()) throw new CliError(`connector module ${modulePath} is not a file`);
  const extension = extname(file);
  if (!MODULE_EXTENSIONS.has(extension)) {
    throw new CliError(`connector module ${modulePath} is not a JavaScript or TypeScript file (.js, .mjs, .cjs, .ts, .mts, .cts, .tsx)`);
  }

  const namespace = await importModule(file, modulePath);
  const picked = pickExport(namespace, modulePath, options.exportName);
  const connector = await instantiate(picked, modulePath, options.config);
  let graph: StepGraph;
  try {
    graph = validateConnector(connector);
  } catch (error) {
    throw new CliError(`invalid connector in ${modulePath}: ${oneLine(error)}`);
  }
  return { connector, exportName: picked.name, via: picked.kind === 'object' ? 'object' : picked.kind, graph };
}

// ---------------------------------------------------------------- importing

let hooksRegistered = false;
let typescriptRegistered = false;

/** True when this file runs from TypeScript sources, that is with tsx already loaded. */
const runningFromSource = import.meta.url.endsWith('.ts');

async function importModule(file: string, shown: string): Promise<Record<string, unknown>> {
  if (TS_EXTENSIONS.has(extname(file)) && !runningFromSource && !typescriptRegistered) {
    // tsx's global hooks, not tsImport: tsImport loads the module in its own
    // namespace, with private copies of everything it imports, parallax-edge
    // included; the connector's builders would then not be the runner's.
    // Both hooks, as the tsx command installs them: CommonJS TypeScript (.cts)
    // needs the require() side too.
    const [{ register: registerEsm }, { register: registerCjs }] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    registerCjs();
    registerEsm();
    typescriptRegistered = true;
  }
  registerResolveHooks();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const message = oneLine(error);
    const hint = /Cannot find (?:module|package) 'parallax-edge/.test(message)
      ? ' (a connector module must be an ES module, .mjs/.mts or "type": "module" in its package.json, to import parallax-edge from the CLI)'
      : '';
    throw new CliError(`cannot load connector module ${shown}: ${message}${hint}`);
  }
}

/**
 * Makes `parallax-edge` and `parallax-edge/<subpath>` imports resolve to the
 * files of the copy that runs this CLI (the sources when run with tsx, `dist`
 * when built), following the package's `exports`.
 */
function registerResolveHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  const aliases = packageAliases();
  // Also, a module outside node_modules written with ES module syntax loads as
  // an ES module even where its package scope says CommonJS (a lone conn.ts,
  // no package.json): what Node's syntax detection does for .js, extended to
  // TypeScript. Otherwise tsx would compile it to CommonJS, whose require()
  // of parallax-edge bypasses the aliases above.
  const hooks = `
import { readFileSync } from 'node:fs';
let aliases = {};
const ESM_SYNTAX = ${ESM_SYNTAX.toString()};
export function initialize(data) { aliases = data.aliases; }
export async function resolve(specifier, context, next) {
  const target = aliases[specifier];
  const resolved = await next(target === undefined ? specifier : target, context);
  if (resolved.format === 'commonjs' && resolved.url.startsWith('file:') && !resolved.url.includes('/node_modules/') && /\\.(?:ts|tsx|js)$/.test(new URL(resolved.url).pathname)) {
    try {
      if (ESM_SYNTAX.test(readFileSync(new URL(resolved.url), 'utf8'))) return { ...resolved, format: 'module' };
    } catch {}
  }
  return resolved;
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { aliases } });
}

/** `import … from`, `import '…'`, `export …` at the start of a line. */
const ESM_SYNTAX = /^[ \t]*(?:import[ \t]*(?:[\w*{]|['"])|export[ \t]*(?:[{*]|(?:default|const|let|var|function|async|class|type|interface|enum|abstract|declare)\b))/m;

function packageAliases(): Record<string, string> {
  const cliDir = dirname(fileURLToPath(import.meta.url));
  // The directory holding src/, adapters/ and cli/: the package root from sources, dist/ when built.
  const codeRoot = dirname(cliDir);
  const root = findPackageRoot(cliDir);
  if (!root) return {};
  const pkg = JSON.parse(readFileSync(join(root.dir, 'package.json'), 'utf8')) as {
    name?: string;
    exports?: Record<string, string | { default?: string; import?: string }>;
  };
  const aliases: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const path = typeof target === 'string' ? target : (target.import ?? target.default);
    if (!path || !path.endsWith('.js') || !pkg.name) continue;
    const relative = path.replace(/^\.\//, '').replace(/^dist\//, '');
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
    aliases[specifier] = pathToFileURL(join(codeRoot, relative)).href;
  }
  return aliases;
}

/** The nearest directory above `from` whose package.json is this package's. */
export function findPackageRoot(from: string): { dir: string; version: string } | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'parallax-edge') return { dir, version: pkg.version ?? '0.0.0' };
      } catch {
        /* keep looking */
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

// ---------------------------------------------------------------- choosing

interface PickedExport {
  readonly name: string;
  readonly value: unknown;
  readonly kind: 'object' | 'class' | 'factory';
}

function looksLikeConnector(value: unknown): value is Connector {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Connector).executeStep === 'function' &&
    typeof (value as Connector).steps === 'function'
  );
}

function isClass(value: unknown): value is new (config: unknown) => unknown {
  if (typeof value !== 'function') return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(value))) return true;
  const proto = (value as { prototype?: { executeStep?: unknown } }).prototype;
  return typeof proto?.executeStep === 'function';
}

function isConnectorClass(value: unknown): boolean {
  if (!isClass(value)) return false;
  const proto = (value as { prototype?: { executeStep?: unknown } }).prototype;
  return typeof proto?.executeStep === 'function' || /connector/i.test(value.name);
}

/** How an export could provide a connector, or undefined when it cannot. */
function kindOf(name: string, value: unknown): PickedExport['kind'] | undefined {
  if (looksLikeConnector(value)) return 'object';
  if (name === 'default') {
    if (isClass(value)) return 'class';
    if (typeof value === 'function') return 'factory';
    return undefined;
  }
  if (isConnectorClass(value)) return 'class';
  if (typeof value === 'function' && !isClass(value) && /connector/i.test(name)) return 'factory';
  return undefined;
}

function pickExport(namespace: Record<string, unknown>, shown: string, wanted: string | undefined): PickedExport {
  const exports = moduleExports(namespace);
  if (wanted !== undefined) {
    if (!Object.hasOwn(exports, wanted)) {
      throw new CliError(`connector module ${shown} has no export "${wanted}"; it exports ${describeExports(exports)}`);
    }
    const value = exports[wanted];
    const kind = looksLikeConnector(value) ? 'object' : isClass(value) ? 'class' : typeof value === 'function' ? 'factory' : undefined;
    if (!kind) throw notAConnector(shown, exports, `export "${wanted}" is ${describeValue(value)}`);
    return { name: wanted, value, kind };
  }
  if ('default' in exports) {
    const kind = kindOf('default', exports.default);
    if (kind) return { name: 'default', value: exports.default, kind };
  }
  const candidates = Object.entries(exports)
    .filter(([name]) => name !== 'default')
    .flatMap(([name, value]) => {
      const kind = kindOf(name, value);
      return kind ? [{ name, value, kind }] : [];
    });
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) {
    throw new CliError(
      `connector module ${shown} exports several connectors (${candidates.map((c) => c.name).join(', ')}); choose one with --export NAME`,
    );
  }
  throw notAConnector(shown, exports);
}

/** The module's exports, unwrapping a CommonJS `module.exports` that carries ESM exports. */
function moduleExports(namespace: Record<string, unknown>): Record<string, unknown> {
  const exports: Record<string, unknown> = { ...namespace };
  const inner = exports.default as Record<string, unknown> | undefined;
  if (inner && typeof inner === 'object' && (inner as { __esModule?: unknown }).__esModule === true) {
    delete exports.default;
    for (const [name, value] of Object.entries(inner)) if (name !== '__esModule') exports[name] ??= value;
  }
  if ('module.exports' in exports) delete exports['module.exports'];
  return exports;
}

function notAConnector(shown: string, exports: Record<string, unknown>, detail?: string): CliError {
  return new CliError(
    `connector module ${shown} does not export a connector${detail ? ` (${detail})` : ''}; it exports ${describeExports(exports)}; ` +
      'expected a Connector object (name, steps(), executeStep()), a Connector class, or a factory (config) => Connector, as the default export or a named one',
  );
}

/** `default (object with keys a, b), helper (function helper)`, or `nothing`. */
export function describeExports(exports: Record<string, unknown>): string {
  // Default first, then the named exports (a namespace lists them alphabetically).
  const entries = Object.entries(exports).sort(([a], [b]) => Number(b === 'default') - Number(a === 'default'));
  if (entries.length === 0) return 'nothing';
  return entries.map(([name, value]) => `${name} (${describeValue(value)})`).join(', ');
}

/** A short, safe description of a value for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'function':
      return isClass(value) ? `class ${value.name || '(anonymous)'}` : `function ${value.name || '(anonymous)'}`;
    case 'object': {
      const keys = Object.keys(value);
      const ctor = (value as object).constructor;
      const what = ctor && ctor !== Object && typeof ctor.name === 'string' && ctor.name ? `${ctor.name} instance` : 'object';
      if (keys.length === 0) return `${what} with no keys`;
      const shown = keys.slice(0, 6).join(', ');
      return `${what} with keys ${shown}${keys.length > 6 ? `, … (${keys.length} keys)` : ''}`;
    }
    case 'string':
      return 'a string';
    default:
      return `${typeof value} ${String(value)}`;
  }
}

// ---------------------------------------------------------------- building

async function instantiate(picked: PickedExport, shown: string, config: unknown): Promise<Connector> {
  if (picked.kind === 'object') return picked.value as Connector;
  const where = picked.name === 'default' ? 'the default export' : `export "${picked.name}"`;
  let made: unknown;
  try {
    made =
      picked.kind === 'class'
        ? new (picked.value as new (config: unknown) => unknown)(config)
        : await (picked.value as (config: unknown) => unknown)(config);
  } catch (error) {
    const prefix = error instanceof ConnectorError && error.kind === 'Configuration' ? 'connector configuration error' : 'connector setup failed';
    throw new CliError(`${prefix} (${where} of ${shown}): ${oneLine(error)}`);
  }
  if (!looksLikeConnector(made)) {
    const verb = picked.kind === 'class' ? 'constructed' : 'returned';
    throw new CliError(`${where} of ${shown} ${verb} ${describeValue(made)}, not a connector (name, steps(), executeStep())`);
  }
  return made;
}
