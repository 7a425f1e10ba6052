/**
 * Property values are flat on purpose: every store (SQL column of JSON,
 * IndexedDB record, Parallax's own engine) can hold them and compare them
 * without a schema.
 */
export type PropertyValue = string | number | boolean | null | string[];
export type Properties = Record<string, PropertyValue>;

/** Why a value was refused, or undefined when it is a valid property value. */
export function propertyValueProblem(value: unknown): string | undefined {
  if (value === null) return undefined;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `is ${String(value)}; numbers must be finite`;
    case 'undefined':
      return 'is undefined; use null for a missing value';
    case 'object':
      if (Array.isArray(value)) {
        const bad = value.findIndex((item) => typeof item !== 'string');
        return bad === -1 ? undefined : `is an array whose item ${bad} is not a string; only string[] arrays are allowed`;
      }
      return 'is a nested object; properties must be flat';
    default:
      return `has type ${typeof value}, which is not a property value`;
  }
}

/**
 * A canonical JSON text of properties: keys sorted, so that equal property
 * sets give equal text and equal content hashes whatever the emit order.
 */
export function canonicalProperties(properties: Properties): string {
  // fromEntries defines own properties, so a key named "__proto__" is kept
  // as data instead of setting the prototype (and vanishing from the JSON).
  const sorted: Properties = Object.fromEntries(
    Object.keys(properties)
      .sort()
      .map((key) => [key, properties[key] as PropertyValue]),
  );
  return JSON.stringify(sorted);
}
