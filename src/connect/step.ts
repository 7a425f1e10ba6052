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
}

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
 */
export class StepBuilder {
  #dependsOn: string[] = [];
  #paged = false;
  #iteratesPrior = false;

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

  build(): StepDefinition {
    return {
      id: this.id,
      name: this.name,
      dependsOn: [...this.#dependsOn],
      ...(this.#paged ? { paged: true } : {}),
      ...(this.#iteratesPrior ? { iteratesPrior: true } : {}),
    };
  }
}

export function step(id: string, name: string): StepBuilder {
  return new StepBuilder(id, name);
}
