/** A unit of collection, as `steps()` returns it. */
export interface StepDefinition {
  readonly id: string;
  readonly name: string;
  readonly dependsOn: readonly string[];
}

/**
 * Builder for a step definition, the guide's `step(id, name)`.
 *
 * @example
 * step('services', 'Collect services').dependsOn(['hosts']).build();
 */
export class StepBuilder {
  #dependsOn: string[] = [];

  constructor(
    readonly id: string,
    readonly name: string,
  ) {}

  /** Steps that must finish before this one starts; adds to earlier calls. */
  dependsOn(stepIds: readonly string[]): this {
    this.#dependsOn.push(...stepIds);
    return this;
  }

  build(): StepDefinition {
    return { id: this.id, name: this.name, dependsOn: [...this.#dependsOn] };
  }
}

export function step(id: string, name: string): StepBuilder {
  return new StepBuilder(id, name);
}
