import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertiesText } from '../../src/model/values.js';
import { KNOWN_CLASSES, KNOWN_VERBS, entity, relationship } from 'parallax-edge';
import { canonicalProperties, entityProblems, relationshipProblems } from 'parallax-edge/adapter-kit';

describe('data model', () => {
  it('knows the 41 classes and 15 verbs of Parallax', () => {
    expect(new Set(KNOWN_CLASSES).size).toBe(41);
    expect(new Set(KNOWN_VERBS).size).toBe(15);
  });

  it('entity builder collects class, display name and properties; .properties adds several at once', () => {
    const e = entity('user', 'u-1')
      .class('User')
      .displayName('Ada')
      .property('email', 'ada@example.com')
      .properties({ active: true, logins: 3, groups: ['a', 'b'], manager: null })
      .build();
    expect(e).toEqual({
      entityType: 'user',
      entityKey: 'u-1',
      entityClass: 'User',
      displayName: 'Ada',
      properties: { email: 'ada@example.com', active: true, logins: 3, groups: ['a', 'b'], manager: null },
    });
  });

  it('display name defaults to the key', () => {
    expect(entity('host', 'h-1').class('Host').build().displayName).toBe('h-1');
  });

  it('relationship builder keeps endpoints, verb and properties', () => {
    const r = relationship('user', 'u-1', 'ASSIGNED', 'role', 'admin').property('assigned_at', '2026-01-01').build();
    expect(r).toEqual({
      fromType: 'user',
      fromKey: 'u-1',
      verb: 'ASSIGNED',
      toType: 'role',
      toKey: 'admin',
      properties: { assigned_at: '2026-01-01' },
    });
  });

  it('flags each bad property value with its field', () => {
    const bad = entity('user', 'u-1')
      .class('User')
      .properties({
        nested: { a: 1 } as never,
        mixed: ['a', 1] as never,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        undef: undefined as never,
      })
      .build();
    expect(entityProblems(bad).map((p) => p.field)).toEqual([
      'properties.nested',
      'properties.mixed',
      'properties.nan',
      'properties.inf',
      'properties.undef',
    ]);
  });

  it('flags empty type and key, a missing class, an unknown class as vocabulary-only', () => {
    expect(entityProblems(entity('', '').build()).map((p) => p.field)).toEqual(['entityType', 'entityKey', 'entityClass']);
    const unknown = entityProblems(entity('t', 'k').class('Spaceship').build());
    expect(unknown).toEqual([{ field: 'entityClass', message: '"Spaceship" is not a known class', vocabulary: true }]);
  });

  it('flags an empty verb as an error and an unknown verb as vocabulary-only', () => {
    expect(relationshipProblems(relationship('a', '1', '', 'b', '2').build())).toEqual([
      { field: 'verb', message: 'must be a non-empty string' },
    ]);
    expect(relationshipProblems(relationship('a', '1', 'LIKES', 'b', '2').build())[0]?.vocabulary).toBe(true);
  });

  it('canonical properties do not depend on key order', () => {
    expect(canonicalProperties({ b: 1, a: 'x' })).toBe(canonicalProperties({ a: 'x', b: 1 }));
  });

  it('canonical properties: the already-sorted fast path gives the text of a sorted copy (integer-like keys, __proto__, null prototype)', () => {
    const reference = (p: Record<string, unknown>): string =>
      JSON.stringify(Object.fromEntries(Object.keys(p).sort().map((k) => [k, p[k]])));
    const withProto = Object.fromEntries([['__proto__', 'x'], ['a', 1]]);
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { b: [], a: null });
    const cases: Record<string, unknown>[] = [
      {},
      { a: 1, b: 'x', c: ['y'] },
      { c: 1, b: 2, a: 3 },
      { '10': 'x', '2': 'y', a: true },
      { '1': 'x', '2': 'y', a: true },
      { B: 1, a: 2, é: 3, Z: null },
      withProto,
      nullProto,
    ];
    for (const p of cases) expect(canonicalProperties(p as never)).toBe(reference(p));
  });

  it('canonical properties: the remembered key orders (and the emitted JSON given beside) give the text of a sorted copy, whatever shapes come in turn', () => {
    const reference = (p: Record<string, unknown>): string =>
      JSON.stringify(Object.fromEntries(Object.keys(p).sort().map((k) => [k, p[k]])));
    const key = fc.constantFrom('a', 'b', 'c', 'ab', '10', '9', 'Z', 'é', '__proto__');
    const entries = fc.uniqueArray(fc.tuple(key, fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null))), { maxLength: 6, selector: ([k]) => k });
    fc.assert(
      fc.property(fc.array(entries, { minLength: 1, maxLength: 20 }), (objects) => {
        for (const list of objects) {
          const p: Record<string, unknown> = {};
          for (const [k, v] of list) Object.defineProperty(p, k, { value: v, enumerable: true, writable: true, configurable: true });
          expect(canonicalProperties(p as never)).toBe(reference(p));
          expect(canonicalProperties(p as never, propertiesText(p as never))).toBe(reference(p));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('builders keep unusual property names as data', () => {
  it('a property named __proto__ is stored as a property, not as a prototype', () => {
    const e = entity('t', 'k').class('Generic').property('__proto__', 'x').properties({ constructor: 'y' }).build();
    expect(Object.keys(e.properties).sort()).toEqual(['__proto__', 'constructor']);
    expect(canonicalProperties(e.properties)).toBe('{"__proto__":"x","constructor":"y"}');
    const r = relationship('a', '1', 'HAS', 'b', '2').property('__proto__', 'z').build();
    expect(Object.keys(r.properties)).toEqual(['__proto__']);
  });
});

describe('text must be valid Unicode', () => {
  it('refuses a key, type or display name with a lone surrogate, naming the field', () => {
    expect(entityProblems(entity('user', 'k\ud800').class('User').displayName('K').build()).map((p) => p.field)).toEqual(['entityKey']);
    expect(entityProblems(entity('user', 'k').class('User').displayName('\udc00x').build()).map((p) => p.field)).toEqual(['displayName']);
    expect(relationshipProblems(relationship('a\ud800', '1', 'HAS', 'b', '2').build()).map((p) => p.field)).toEqual(['fromType']);
    expect(entityProblems(entity('user', 'emoji 😀 ok').class('User').build())).toEqual([]);
  });
});

describe('builders hand out snapshots', () => {
  it('data built earlier keeps its properties when the builder changes afterwards, and __proto__ stays a plain property', () => {
    const builder = entity('host', 'h-1').class('Host').property('os', 'linux');
    const first = builder.build();
    builder.property('os', 'bsd').properties(JSON.parse('{"__proto__":"x","extra":1}'));
    const second = builder.build();
    expect(first.properties).toEqual({ os: 'linux' });
    expect(JSON.parse(JSON.stringify(second.properties))).toEqual(JSON.parse('{"os":"bsd","__proto__":"x","extra":1}'));
    expect(Object.getPrototypeOf(second.properties)).toBe(Object.prototype);
    const link = relationship('a', '1', 'HAS', 'b', '2').property('n', 1);
    const built = link.build();
    link.property('n', 2);
    expect(built.properties).toEqual({ n: 1 });
    expect(link.build().properties).toEqual({ n: 2 });
  });
});
