/**
 * Property values are flat on purpose: every store (SQL column of JSON,
 * IndexedDB record, Parallax's own engine) can hold them and compare them
 * without a schema.
 */
export type PropertyValue = string | number | boolean | null | string[];
export type Properties = Record<string, PropertyValue>;

// A lone UTF-16 surrogate is not Unicode: SQLite and D1 store it as U+FFFD
// (so two different keys could land on one row) where memory keeps it.
const LONE_SURROGATE = /\p{Cs}/u;
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/**
 * True when `text` is well-formed Unicode (no lone UTF-16 surrogate): every
 * string a store keeps must be. ES2024's `isWellFormed` where the runtime has
 * it (Node 20, workerd, current browsers), several times faster than a regex.
 */
export const wellFormedText: (text: string) => boolean = nativeWellFormed
  ? (text) => nativeWellFormed.call(text)
  : (text) => !LONE_SURROGATE.test(text);

export const NOT_UNICODE = 'contains a lone surrogate and is not valid Unicode';

/** Why a value was refused, or undefined when it is a valid property value. */
export function propertyValueProblem(value: unknown): string | undefined {
  if (value === null) return undefined;
  switch (typeof value) {
    case 'string':
      return wellFormedText(value) ? undefined : NOT_UNICODE;
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `is ${String(value)}; numbers must be finite`;
    case 'undefined':
      return 'is undefined; use null for a missing value';
    case 'object':
      if (Array.isArray(value)) {
        const bad = value.findIndex((item) => typeof item !== 'string');
        if (bad !== -1) return `is an array whose item ${bad} is not a string; only string[] arrays are allowed`;
        const ill = value.findIndex((item) => !wellFormedText(item as string));
        return ill === -1 ? undefined : `is an array whose item ${ill} ${NOT_UNICODE}`;
      }
      return 'is a nested object; properties must be flat';
    default:
      return `has type ${typeof value}, which is not a property value`;
  }
}

const isPlain = (properties: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(properties);
  return proto === Object.prototype || proto === null;
};

/** The key order of a properties object, and its sorted order when that differs. */
interface Shape {
  readonly keys: readonly string[];
  /** Undefined when `keys` are in order already. */
  readonly sorted: readonly string[] | undefined;
  /** A key named "__proto__": the sorted copy then has no prototype, where it is kept as data. */
  readonly protoKey: boolean;
}

// Records of one kind share a few key orders: remembering the last ones
// saves sorting the same keys again for every record.
const SHAPES = 8;
const shapes: Shape[] = [];
let nextShape = 0;

function shapeOf(keys: string[]): Shape {
  outer: for (const shape of shapes) {
    const known = shape.keys;
    if (known.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (known[i] !== keys[i]) continue outer;
    return shape;
  }
  let ordered = true;
  for (let i = 1; i < keys.length && ordered; i++) ordered = keys[i - 1]! < keys[i]!;
  const shape: Shape = { keys, sorted: ordered ? undefined : [...keys].sort(), protoKey: keys.includes('__proto__') };
  shapes[nextShape] = shape;
  nextShape = (nextShape + 1) % SHAPES;
  return shape;
}

/**
 * A canonical JSON text of properties: keys sorted, so that equal property
 * sets give equal text and equal content hashes whatever the emit order.
 * `json` is `propertiesText(properties)` when the caller has it already.
 */
export function canonicalProperties(properties: Properties, json?: string): string {
  const keys = Object.keys(properties);
  const shape = shapeOf(keys);
  // Keys already in order on a plain object: the same text as the copy below gives.
  if (shape.sorted === undefined && isPlain(properties)) return json ?? JSON.stringify(properties);
  // A plain object built in sorted order gets a hidden class that later rows
  // with the same keys share, and JSON.stringify's fast path. A key named
  // "__proto__" would set the prototype of a plain object (and vanish from
  // the JSON), so then the copy has no prototype, where it is kept as data.
  const sorted = (shape.protoKey ? Object.create(null) : {}) as Record<string, PropertyValue>;
  for (const key of shape.sorted ?? keys) sorted[key] = properties[key] as PropertyValue;
  return JSON.stringify(sorted);
}

/**
 * The JSON of properties as emitted (keys in emit order) for a plain
 * object, else the canonical text: cheaper than {@link canonicalProperties}
 * (no sorted copy), and as exact a description of the content: equal texts
 * mean equal properties, so equal canonical texts. What unit digests read.
 */
export function propertiesText(properties: Properties): string {
  return isPlain(properties) ? JSON.stringify(properties) : canonicalProperties(properties);
}

/**
 * Sets a property on a builder's plain object; a name `__proto__` is
 * defined as data (a plain assignment would set the prototype instead).
 * An array is copied item by item: the connector keeps no handle on it (a
 * later push, or its own `toJSON`, would change what was checked), and a
 * hole becomes undefined, which the checks refuse.
 */
export function setProperty(target: Record<string, unknown>, name: string, value: unknown): void {
  if (Array.isArray(value)) {
    const items = value as unknown[];
    const copy = new Array<unknown>(items.length);
    for (let i = 0; i < items.length; i++) copy[i] = items[i];
    value = copy;
  }
  if (name === '__proto__') Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  else target[name] = value;
}

/** A plain copy of properties, `__proto__` kept as data. */
export function copyProperties(source: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(source)) setProperty(copy, name, source[name]);
  return copy;
}
