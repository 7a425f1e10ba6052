/**
 * The record rules of the core (src/model/validate.ts): every stored string is
 * valid Unicode, a row is at most MAX_ROW_BYTES measured as JSON text, and
 * the allocation-free fast checks agree with the problem lists.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ROW_BYTES, entity, relationship, type EntityData, type Properties, type RelationshipData } from 'parallax-edge';
import { canonicalProperties, entityProblems, relationshipProblems } from 'parallax-edge/adapter-kit';
import { entityRowBytes, relationshipRowBytes } from '../../src/model/limits.js';
import { entityLooksValid, relationshipLooksValid } from '../../src/model/validate.js';

const fields = (problems: readonly { field: string }[]): string[] => problems.map((p) => p.field);
const utf8 = (text: string): number => new TextEncoder().encode(text).byteLength;
const host = (over: Partial<EntityData> = {}): EntityData => ({ entityType: 'host', entityKey: 'h-1', entityClass: 'Host', displayName: 'web', properties: {}, ...over });
const edge = (over: Partial<RelationshipData> = {}): RelationshipData => ({ fromType: 'host', fromKey: 'h-1', verb: 'HAS', toType: 'host', toKey: 'h-2', properties: {}, ...over });

describe('every stored string is valid Unicode', () => {
  it.each<[string, EntityData, string]>([
    ['a class', host({ entityClass: 'Host\ud800' }), 'entityClass'],
    ['a property name', host({ properties: { 'os\udc00': 'x' } }), 'properties["os\\udc00"]'],
    ['a property value', host({ properties: { os: 'deb\ud800ian' } }), 'properties.os'],
    ['an array item', host({ properties: { tags: ['a', '\udfff'] } }), 'properties.tags'],
    ['a display name', host({ displayName: '\udc00' }), 'displayName'],
  ])('a lone surrogate in %s refuses the entity, naming the field; the fast check agrees', (_what, e, field) => {
    const problems = entityProblems(e);
    expect(fields(problems)).toEqual([field]);
    expect(problems[0]!.message).toContain('lone surrogate');
    expect(problems[0]!.vocabulary).toBeUndefined();
    expect(entityLooksValid(e)).toBe(false);
  });

  it('a class with a lone surrogate is an error, never a mere unknown-class warning', () => {
    const [problem] = entityProblems(host({ entityClass: 'Host\ud800' }));
    expect(problem).toEqual({ field: 'entityClass', message: 'contains a lone surrogate and is not valid Unicode' });
  });

  it.each<[string, RelationshipData, string]>([
    ['a verb', edge({ verb: 'HAS\ud800' }), 'verb'],
    ['a property name', edge({ properties: { '\ud800': 1 } }), 'properties["\\ud800"]'],
    ['a property value', edge({ properties: { since: '\udc00' } }), 'properties.since'],
    ['an array item', edge({ properties: { ports: ['22', '\ud800'] } }), 'properties.ports'],
  ])('a lone surrogate in %s refuses the relationship, naming the field; the fast check agrees', (_what, r, field) => {
    expect(fields(relationshipProblems(r).filter((p) => !p.vocabulary))).toEqual([field]);
    expect(relationshipLooksValid(r)).toBe(false);
  });

  it('valid text of every kind is accepted: astral characters, U+FFFD, U+2028, NUL and control characters', () => {
    const text = '😀 \ufffd \u2028 \u0000 \u0001 \n "q" \\';
    const e = host({ entityKey: text, displayName: text, properties: { [text]: text, list: [text] } });
    expect(entityProblems(e)).toEqual([]);
    expect(entityLooksValid(e)).toBe(true);
  });
});

// Text from an alphabet of every case the measure distinguishes.
const unit = fc.constantFrom('a', ' ', '"', '\\', '\n', '\t', '\b', '\u0000', '\u001f', '\u007f', 'é', 'ߺ', '\u0800', '日', '\u2028', '\ufffd', '😀', '\ud800', '\udc00');
const text = fc.string({ unit, maxLength: 12 });
const value = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }));
const properties = fc.dictionary(text, value, { maxKeys: 4 }) as fc.Arbitrary<Properties>;

describe(`MAX_ROW_BYTES (${MAX_ROW_BYTES}): a row measured as JSON text, as the SQL stores bind it`, () => {
  it('the measure is the UTF-8 length of JSON.stringify of the row\'s text columns and canonical properties JSON (random text with quotes, escapes, control characters, astral and lone surrogates, numbers)', () => {
    fc.assert(
      fc.property(text, text, text, text, properties, text, (type, key, cls, name, props, verb) => {
        const finite = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? 0 : v])) as Properties;
        const e = { entityType: type, entityKey: key, entityClass: cls, displayName: name, properties: finite };
        expect(entityRowBytes(e)).toBe(utf8(JSON.stringify([type, key, cls, name, canonicalProperties(finite)])));
        const r = { fromType: type, fromKey: key, verb, toType: cls, toKey: name, properties: finite };
        expect(relationshipRowBytes(r)).toBe(utf8(JSON.stringify([type, key, verb, cls, name, canonicalProperties(finite)])));
      }),
      { numRuns: 2000 },
    );
  });

  it('a row of exactly MAX_ROW_BYTES is valid; one byte more is refused naming the largest field, its size, the row\'s and the limit', () => {
    const filler = (n: number) => host({ properties: { note: 'short', blob: 'x'.repeat(n) } });
    const base = entityRowBytes(filler(0));
    const exact = filler(MAX_ROW_BYTES - base);
    expect(entityRowBytes(exact)).toBe(MAX_ROW_BYTES);
    expect(entityProblems(exact)).toEqual([]);
    expect(entityLooksValid(exact)).toBe(true);
    const over = filler(MAX_ROW_BYTES - base + 1);
    expect(entityProblems(over)).toEqual([
      {
        field: 'properties.blob',
        message: 'is 999,950 bytes and makes the row 1,000,001 bytes, over the limit of 1,000,000 bytes a row (MAX_ROW_BYTES, measured as JSON text)',
        tooLarge: true,
      },
    ]);
    expect(entityLooksValid(over)).toBe(false);
  });

  it('escapes count: control characters in a display name, quotes in a property value, a key made of backslashes', () => {
    // 200,000 control characters: 200 KB of UTF-8, 1.2 MB as JSON text.
    expect(fields(entityProblems(host({ displayName: '\u0001'.repeat(200_000) })))).toEqual(['displayName']);
    // A quote is 4 bytes inside the properties JSON as a string.
    expect(fields(entityProblems(host({ properties: { q: '"'.repeat(250_000) } })))).toEqual(['properties.q']);
    expect(fields(entityProblems(host({ properties: { q: '"'.repeat(249_000) } })))).toEqual([]);
    expect(fields(relationshipProblems(edge({ toKey: '\\'.repeat(500_000) })))).toEqual(['toKey']);
    // Many small properties: the largest one is named.
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`p${i}`, 'y'.repeat(i === 1234 ? 1000 : 500)]));
    expect(entityProblems(host({ properties: many })).map((p) => [p.field, p.tooLarge])).toEqual([['properties.p1234', true]]);
  });

  it('the size is not measured for a record refused for something else (its properties may not even be measurable)', () => {
    const e = host({ entityKey: '', properties: { nested: { a: 'x'.repeat(2_000_000) } } as never });
    expect(fields(entityProblems(e))).toEqual(['entityKey', 'properties.nested']);
  });

  it('the fast checks say exactly what the problem lists say, near the limit too (random text repeated to about MAX_ROW_BYTES)', () => {
    const wellFormedPiece = fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0001', 'é', '日', '😀'), minLength: 1, maxLength: 6 });
    const big = fc.tuple(wellFormedPiece, fc.integer({ min: 0, max: 400_000 })).map(([piece, chars]) => piece.repeat(Math.ceil(chars / piece.length)));
    const anyEntity = fc.record({ entityType: fc.oneof(text, big), entityKey: text, entityClass: fc.oneof(fc.constantFrom('Host', 'Nope', ''), text), displayName: fc.oneof(text, big), properties: fc.oneof(properties, fc.dictionary(text, big, { maxKeys: 2 })) });
    const anyRelationship = fc.record({ fromType: text, fromKey: fc.oneof(text, big), verb: fc.oneof(fc.constantFrom('HAS', 'NOPE', ''), text), toType: text, toKey: text, properties: fc.oneof(properties, fc.dictionary(text, big, { maxKeys: 2 })) });
    let large = 0;
    fc.assert(
      fc.property(anyEntity, anyRelationship, (e, r) => {
        const entityOk = entityProblems(e as EntityData).every((p) => p.vocabulary);
        expect(entityLooksValid(e as EntityData)).toBe(entityOk);
        expect(relationshipLooksValid(r as RelationshipData)).toBe(relationshipProblems(r as RelationshipData).every((p) => p.vocabulary));
        if (entityProblems(e as EntityData).some((p) => p.tooLarge)) large++;
      }),
      { numRuns: 800 },
    );
    expect(large).toBeGreaterThan(10);
  });

  it('builders and plain objects are measured alike; a relationship over the limit names its field', () => {
    const r = relationship('a', '1', 'HAS', 'b', '2').property('payload', 'z'.repeat(MAX_ROW_BYTES)).build();
    expect(relationshipProblems(r)).toEqual([expect.objectContaining({ field: 'properties.payload', tooLarge: true })]);
    const e = entity('doc', 'd').class('File').property('body', 'z'.repeat(MAX_ROW_BYTES)).build();
    expect(entityProblems(e)).toEqual([expect.objectContaining({ field: 'properties.body', tooLarge: true })]);
  });
});
