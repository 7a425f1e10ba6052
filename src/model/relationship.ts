import { copyProperties, setProperty, type Properties, type PropertyValue } from './values.js';

/** A relationship as a connector emits it, endpoints named by (type, key). */
export interface RelationshipData {
  readonly fromType: string;
  readonly fromKey: string;
  /** One of {@link KNOWN_VERBS}; an unknown verb warns, or fails in strict mode. */
  readonly verb: string;
  readonly toType: string;
  readonly toKey: string;
  readonly properties: Readonly<Properties>;
}

/**
 * Fluent builder for a relationship, the guide's
 * `relationship(fromType, fromKey, verb, toType, toKey)`.
 *
 * @example
 * ctx.emitRelationship(
 *   relationship('user', 'u-1', 'ASSIGNED', 'role', 'admin').property('assigned_at', '2026-01-01'),
 * );
 */
export class RelationshipBuilder {
  // A plain object (fast to read and serialize), shared with the last data
  // built until the builder changes again; `__proto__` is set as data.
  #properties: Record<string, unknown> = {};
  #shared = false;

  #own(): Record<string, unknown> {
    if (this.#shared) {
      this.#properties = copyProperties(this.#properties);
      this.#shared = false;
    }
    return this.#properties;
  }

  constructor(
    readonly fromType: string,
    readonly fromKey: string,
    readonly verb: string,
    readonly toType: string,
    readonly toKey: string,
  ) {}

  property(name: string, value: PropertyValue): this {
    setProperty(this.#own(), name, value);
    return this;
  }

  /** Adds several properties at once; later calls override earlier values. */
  properties(values: Readonly<Record<string, PropertyValue>>): this {
    const target = this.#own();
    for (const name of Object.keys(values)) setProperty(target, name, values[name]);
    return this;
  }

  build(): RelationshipData {
    this.#shared = true;
    return {
      fromType: this.fromType,
      fromKey: this.fromKey,
      verb: this.verb,
      toType: this.toType,
      toKey: this.toKey,
      properties: this.#properties as Properties,
    };
  }
}

export function relationship(
  fromType: string,
  fromKey: string,
  verb: string,
  toType: string,
  toKey: string,
): RelationshipBuilder {
  return new RelationshipBuilder(fromType, fromKey, verb, toType, toKey);
}
