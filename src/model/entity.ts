import { copyProperties, setProperty, type Properties, type PropertyValue } from './values.js';

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
    setProperty(this.#own(), name, value);
    return this;
  }

  /** Adds several properties at once; later calls override earlier values. */
  properties(values: Readonly<Record<string, PropertyValue>>): this {
    const target = this.#own();
    for (const name of Object.keys(values)) setProperty(target, name, values[name]);
    return this;
  }

  /** A snapshot (later changes to the builder do not reach it). The display name defaults to the key, as in Parallax. */
  build(): EntityData {
    this.#shared = true;
    return {
      entityType: this.entityType,
      entityKey: this.entityKey,
      entityClass: this.#class,
      displayName: this.#displayName ?? this.entityKey,
      properties: this.#properties as Properties,
    };
  }
}

/** Starts an entity of `type` identified in its source by `key`. */
export function entity(type: string, key: string): EntityBuilder {
  return new EntityBuilder(type, key);
}
