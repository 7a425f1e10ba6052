import type { Properties, PropertyValue } from './values.js';

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
  // No prototype: a property named "__proto__" stays data.
  readonly #properties: Record<string, unknown> = Object.create(null);

  constructor(
    readonly fromType: string,
    readonly fromKey: string,
    readonly verb: string,
    readonly toType: string,
    readonly toKey: string,
  ) {}

  property(name: string, value: PropertyValue): this {
    this.#properties[name] = value;
    return this;
  }

  /** Adds several properties at once; later calls override earlier values. */
  properties(values: Readonly<Record<string, PropertyValue>>): this {
    Object.assign(this.#properties, values);
    return this;
  }

  build(): RelationshipData {
    return {
      fromType: this.fromType,
      fromKey: this.fromKey,
      verb: this.verb,
      toType: this.toType,
      toKey: this.toKey,
      properties: { ...this.#properties } as Properties,
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
