/**
 * The typed connector registry of the Worker: which connectors exist, which
 * run on which cron, for which account, with which configuration.
 *
 * - A connector definition pairs a zod schema for its configuration with a
 *   zod schema for its secrets. Configuration lives in the registry (code,
 *   reviewed, committed); secrets are read from the Worker's env bindings
 *   (`wrangler secret put ...`) when a run starts, never from the registry.
 * - {@link defineRegistry} validates every schedule's configuration when the
 *   Worker loads and refuses configuration keys that look like secrets.
 * - A registered connector's name is reserved: `POST /v1/ingest/sync` naming
 *   it is refused (a REST ingest replaces the connector's whole scope, so it
 *   would delete what the schedule collected), unless its definition sets
 *   `allowIngest: true`.
 *
 * @example
 * const myService = defineConnector({
 *   name: 'my-service',
 *   config: z.strictObject({ apiBaseUrl: z.url() }),
 *   secrets: z.object({ MY_SERVICE_TOKEN: z.string().min(1) }),
 *   create: (config, secrets) => new MyServiceConnector(config.apiBaseUrl, secrets.MY_SERVICE_TOKEN),
 * });
 * export const registry = defineRegistry({
 *   connectors: [myService],
 *   schedules: [{ cron: '*\/15 * * * *', connector: 'my-service', account: 'acme', config: { apiBaseUrl: 'https://api.example.com' } }],
 * });
 */
import { z } from 'zod';
import type { Connector } from '../src/index.js';

export interface ConnectorDefinition<Name extends string = string, Config = unknown, Secrets = unknown, ConfigInput = Config> {
  readonly name: Name;
  readonly description?: string;
  /** Validates a schedule's `config` and applies defaults (use `z.strictObject` so a typo is an error). */
  readonly config: z.ZodType<Config, ConfigInput>;
  /** Validates the env bindings the connector needs; only the keys it declares are read. */
  readonly secrets: z.ZodType<Secrets>;
  /**
   * Lets `POST /v1/ingest/sync` commit under this connector's name (default
   * false: the name is reserved for the registry's own runs). An allowed ingest
   * replaces the (account, connector) scope like a run does: rows it does not
   * name are deleted. It shares the runs' lease, so it never overlaps one.
   *
   * @example
   * defineConnector({ name: 'cmdb', allowIngest: true, config: z.strictObject({}), secrets: z.object({}), create: () => cmdb })
   */
  readonly allowIngest?: boolean;
  /** Builds the connector for one run. */
  create(config: Config, secrets: Secrets): Connector;
}

/** Declares a connector; the name is kept as a literal type so schedules are checked against it. */
export function defineConnector<const Name extends string, Config, Secrets, ConfigInput = Config>(
  definition: ConnectorDefinition<Name, Config, Secrets, ConfigInput>,
): ConnectorDefinition<Name, Config, Secrets, ConfigInput> {
  return definition;
}

// Definitions are stored without their type parameters; `create` is contravariant in them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDefinition = ConnectorDefinition<string, any, any, any>;

/** A schedule entry, typed by the connector it names. */
export type ScheduleFor<D> = D extends ConnectorDefinition<infer Name, infer _Config, infer _Secrets, infer Config>
  ? {
      /** A cron expression listed under `[triggers] crons` in wrangler.toml. */
      readonly cron: string;
      readonly connector: Name;
      /** The account (tenant) whose graph the run writes. */
      readonly account: string;
      /** As written: the connector's schema applies its defaults. */
      readonly config: Config;
      /** How long a run's lease lasts before another run may take over; default 16 minutes. */
      readonly leaseSeconds?: number;
    }
  : never;

/** A validated schedule entry. */
export interface Schedule {
  readonly cron: string;
  readonly connector: string;
  readonly account: string;
  readonly config: unknown;
  readonly leaseSeconds: number;
}

export interface Registry {
  readonly connectors: ReadonlyMap<string, AnyDefinition>;
  readonly schedules: readonly Schedule[];
  /** The schedules that run on this cron, in registry order. */
  due(cron: string): readonly Schedule[];
  /** The distinct crons the registry uses (each must be in wrangler.toml). */
  crons(): readonly string[];
}

/** Cron triggers run for at most 15 minutes; a lease outlives the longest possible run. */
export const DEFAULT_LEASE_SECONDS = 16 * 60;

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** Keys that hold secrets: these belong in env bindings, not in the registry. */
const SECRET_KEY = /(token|secret|password|passwd|api[_-]?key|private[_-]?key|credential)/i;

function secretKeyPath(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = secretKeyPath(item, `${path}[${index}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEY.test(key)) return `${path}.${key}`;
      const found = secretKeyPath(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

const CRON = /^\S+( \S+){4}$/;

/** `a.b[2].c` from a zod issue path. */
export function issuePath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/**
 * Builds the registry and validates it: unique connector names, known
 * connectors in schedules, 5-field crons, non-empty accounts, one schedule
 * per (cron, connector, account), every config valid for its connector and
 * free of secret-looking keys. Throws a {@link RegistryError} naming the path.
 */
export function defineRegistry<const Defs extends readonly AnyDefinition[]>(input: {
  readonly connectors: Defs;
  readonly schedules: readonly ScheduleFor<Defs[number]>[];
}): Registry {
  const connectors = new Map<string, AnyDefinition>();
  for (const [index, definition] of input.connectors.entries()) {
    if (!definition.name) throw new RegistryError('a connector needs a name', `connectors[${index}]`);
    if (connectors.has(definition.name)) throw new RegistryError(`duplicate connector "${definition.name}"`, `connectors[${index}]`);
    if (definition.allowIngest !== undefined && typeof definition.allowIngest !== 'boolean') {
      throw new RegistryError('allowIngest must be true or false', `connectors[${index}].allowIngest`);
    }
    connectors.set(definition.name, definition);
  }
  const seen = new Set<string>();
  const schedules: Schedule[] = input.schedules.map((raw, index) => {
    const at = `schedules[${index}]`;
    const entry = raw as { cron: string; connector: string; account: string; config: unknown; leaseSeconds?: number };
    if (typeof entry.cron !== 'string' || !CRON.test(entry.cron.trim())) {
      throw new RegistryError(`"${String(entry.cron)}" is not a 5-field cron expression`, `${at}.cron`);
    }
    const definition = connectors.get(entry.connector);
    if (!definition) throw new RegistryError(`unknown connector "${String(entry.connector)}"`, `${at}.connector`);
    if (typeof entry.account !== 'string' || entry.account.length === 0) {
      throw new RegistryError('account must be a non-empty string', `${at}.account`);
    }
    const key = `${entry.cron}\0${entry.connector}\0${entry.account}`;
    if (seen.has(key)) throw new RegistryError(`"${entry.connector}" is scheduled twice for account "${entry.account}" on "${entry.cron}"`, at);
    seen.add(key);
    const secretKey = secretKeyPath(entry.config, `${at}.config`);
    if (secretKey) {
      throw new RegistryError('looks like a secret; declare it in the connector\'s `secrets` and set it with `wrangler secret put`', secretKey);
    }
    const parsed = definition.config.safeParse(entry.config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RegistryError(issue.message, issuePath(`${at}.config`, issue.path));
    }
    const leaseSeconds = entry.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1) {
      throw new RegistryError('leaseSeconds must be a positive integer', `${at}.leaseSeconds`);
    }
    return { cron: entry.cron, connector: entry.connector, account: entry.account, config: parsed.data, leaseSeconds };
  });
  return {
    connectors,
    schedules,
    due: (cron) => schedules.filter((s) => s.cron === cron),
    crons: () => [...new Set(schedules.map((s) => s.cron))],
  };
}

/**
 * Why a REST ingest may not commit under `connectorId`, or undefined when it
 * may: a name the registry does not know is free, a registered one is
 * reserved unless its definition sets `allowIngest: true`.
 */
export function ingestRefusal(registry: Registry, connectorId: string): string | undefined {
  const definition = registry.connectors.get(connectorId);
  if (!definition || definition.allowIngest === true) return undefined;
  return `"${connectorId}" is a connector of this deployment's registry: its name is reserved for its own runs, because an ingest replaces the connector's stored data; set \`allowIngest: true\` in its defineConnector() definition to allow it`;
}

/** Why a connector could not be built for a run: missing secrets (named, never shown) or a failing factory. */
export class ConnectorSetupError extends Error {
  override readonly name = 'ConnectorSetupError';
}

/**
 * Builds the connector of a schedule for one run, reading its secrets from
 * `env`. Only the names of missing or invalid secrets appear in errors.
 */
export function instantiate(registry: Registry, schedule: Schedule, env: Readonly<Record<string, unknown>>): Connector {
  const definition = registry.connectors.get(schedule.connector);
  if (!definition) throw new ConnectorSetupError(`unknown connector "${schedule.connector}"`);
  const secrets = definition.secrets.safeParse(env);
  if (!secrets.success) {
    const names = [...new Set(secrets.error.issues.map((issue) => issuePath('', issue.path) || '(env)'))];
    throw new ConnectorSetupError(
      `connector "${schedule.connector}" is missing or has invalid secrets: ${names.join(', ')} (set them with \`wrangler secret put\`)`,
    );
  }
  const connector = definition.create(schedule.config, secrets.data);
  if (connector.name !== schedule.connector) {
    throw new ConnectorSetupError(`registry entry "${schedule.connector}" built a connector named "${connector.name}"`);
  }
  return connector;
}
