import type { Properties, PropertyValue } from './values.js';

/** An entity as a connector emits it: what it is, not where it was stored. */
export interface EntityData {
  readonly entityType: string;
  readonly entityKey: string;
  /** One of {@link KNOWN_CLASSES}; an unknown class warns, or fails in strict mode. */
  readonly entityClass: string;
  readonly displayName: string;
  readonly properties: Readonly<Properties>;
}

/**
 * Fluent builder for an entity, the guide's `entity(type, key)`.
 * Values are checked when the entity is emitted, so that the emit can report
 * every problem with the step and the field named.
 *
 * @example
 * ctx.emitEntity(
 *   entity('user', 'u-1').class('User').displayName('Ada').property('active', true),
 * );
 */
export class EntityBuilder {
  #class = '';
  #displayName: string | undefined;
  // No prototype: a property named "__proto__" stays data.
  readonly #properties: Record<string, unknown> = Object.create(null);

  constructor(
    readonly entityType: string,
    readonly entityKey: string,
  ) {}

  class(entityClass: string): this {
    this.#class = entityClass;
    return this;
  }

  displayName(name: string): this {
    this.#displayName = name;
    return this;
  }

  property(name: string, value: PropertyValue): this {
    this.#properties[name] = value;
    return this;
  }

  /** Adds several properties at once; later calls override earlier values. */
  properties(values: Readonly<Record<string, PropertyValue>>): this {
    Object.assign(this.#properties, values);
    return this;
  }

  /** A plain snapshot. The display name defaults to the key, as in Parallax. */
  build(): EntityData {
    return {
      entityType: this.entityType,
      entityKey: this.entityKey,
      entityClass: this.#class,
      displayName: this.#displayName ?? this.entityKey,
      properties: { ...this.#properties } as Properties,
    };
  }
}

/** Starts an entity of `type` identified in its source by `key`. */
export function entity(type: string, key: string): EntityBuilder {
  return new EntityBuilder(type, key);
}
