/** A unit of collection, as `steps()` returns it. */
export interface StepDefinition {
  readonly id: string;
  readonly name: string;
  readonly dependsOn: readonly string[];
  /**
   * The step runs in pages: `executeStep` gets `ctx.cursor` (undefined for
   * the first page) and returns `{ next }` while there is another page.
   * Each page is a unit of work of its own: in a Cloudflare Workflow one
   * `step.do`, in process a turn of the event loop between pages.
   */
  readonly paged?: boolean;
  /**
   * The step reads its dependencies only through `ctx.prior.has`, `find`
   * and `iterateEntities`, which stay bounded in memory; its dependencies'
   * records are then not held in memory for the guide's synchronous
   * `ctx.prior.entitiesByType` / `get`, which it must not call.
   */
  readonly iteratesPrior?: boolean;
  /**
   * How a durable engine (a Cloudflare Workflow) retries one page of the
   * step when it throws; {@link DEFAULT_STEP_RETRIES} when absent. The
   * in-process runner does not retry (the fetch helper already does).
   */
  readonly retries?: StepRetries;
}

/** Retry settings of a step's pages in a durable engine. */
export interface StepRetries {
  /** Retries after the first attempt (0: none). */
  readonly limit: number;
  /** Wait before the first retry, in ms; a `Retry-After` from the API (ConnectorError.retryAfterMs) waits longer when it says so. */
  readonly delayMs: number;
  /** How the wait grows between retries. */
  readonly backoff: 'constant' | 'linear' | 'exponential';
  /** Longest one attempt may run, in ms. */
  readonly timeoutMs: number;
}

/** 3 retries, 5 s then 10 s then 20 s; 10 minutes per attempt. */
export const DEFAULT_STEP_RETRIES: StepRetries = { limit: 3, delayMs: 5_000, backoff: 'exponential', timeoutMs: 10 * 60_000 };

/** What a paged step returns from `executeStep` for each page. */
export interface StepPage {
  /** The cursor of the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * Builder for a step definition, the guide's `step(id, name)`.
 *
 * @example
 * step('services', 'Collect services').dependsOn(['hosts']).build();
 * step('instances', 'List instances').paged().iteratesPrior().build();
 * step('billing', 'Read billing').retries({ limit: 5, delayMs: 30_000 }).build();
 */
export class StepBuilder {
  #dependsOn: string[] = [];
  #paged = false;
  #iteratesPrior = false;
  #retries: StepRetries | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
  ) {}

  /** Steps that must finish before this one starts; adds to earlier calls. */
  dependsOn(stepIds: readonly string[]): this {
    this.#dependsOn.push(...stepIds);
    return this;
  }

  /** See {@link StepDefinition.paged}. */
  paged(): this {
    this.#paged = true;
    return this;
  }

  /** See {@link StepDefinition.iteratesPrior}. */
  iteratesPrior(): this {
    this.#iteratesPrior = true;
    return this;
  }

  /** See {@link StepDefinition.retries}; what is not given keeps its default. */
  retries(retries: Partial<StepRetries>): this {
    const merged = { ...DEFAULT_STEP_RETRIES, ...this.#retries, ...retries };
    for (const [name, value] of Object.entries(merged)) {
      if (name !== 'backoff' && !(Number.isInteger(value) && (value as number) >= 0)) {
        throw new RangeError(`step "${this.id}": retries.${name} must be a non-negative integer`);
      }
    }
    if (!['constant', 'linear', 'exponential'].includes(merged.backoff)) {
      throw new RangeError(`step "${this.id}": retries.backoff must be constant, linear or exponential`);
    }
    this.#retries = merged;
    return this;
  }

  build(): StepDefinition {
    return {
      id: this.id,
      name: this.name,
      dependsOn: [...this.#dependsOn],
      ...(this.#paged ? { paged: true } : {}),
      ...(this.#iteratesPrior ? { iteratesPrior: true } : {}),
      ...(this.#retries ? { retries: { ...this.#retries } } : {}),
    };
  }
}

export function step(id: string, name: string): StepBuilder {
  return new StepBuilder(id, name);
}
