/**
 * The PQL parser over its grammar: every example of issue 13 parses to the
 * tree it means, keywords are case-insensitive, and malformed queries throw
 * a PqlError pointing at the offending token (line, column, expected, found).
 */
import { describe, expect, it } from 'vitest';
import { KNOWN_VERBS, PqlError, parsePql, type PqlQuery } from 'parallax-edge';
import { MAX_NESTING } from 'parallax-edge/adapter-kit';

const EXAMPLES: [string, PqlQuery][] = [
  ['FIND host THAT !PROTECTS edr_agent', { kind: 'find', start: { filter: 'host' }, steps: [{ negated: true, verb: 'PROTECTS', direction: 'both', target: { filter: 'edr_agent' } }] }],
  [
    "FIND host WITH os = 'linux' THAT USES aws_iam_role WITH admin = true",
    {
      kind: 'find',
      start: { filter: 'host', where: { kind: 'compare', property: 'os', op: '=', value: 'linux' } },
      steps: [{ negated: false, verb: 'USES', direction: 'both', target: { filter: 'aws_iam_role', where: { kind: 'compare', property: 'admin', op: '=', value: true } } }],
    },
  ],
  [
    'FIND user THAT ASSIGNED role THAT ALLOWS policy THAT USES aws_s3_bucket',
    {
      kind: 'find',
      start: { filter: 'user' },
      steps: [
        { negated: false, verb: 'ASSIGNED', direction: 'both', target: { filter: 'role' } },
        { negated: false, verb: 'ALLOWS', direction: 'both', target: { filter: 'policy' } },
        { negated: false, verb: 'USES', direction: 'both', target: { filter: 'aws_s3_bucket' } },
      ],
    },
  ],
  ["FIND user WITH email LIKE '%@corp.com'", { kind: 'find', start: { filter: 'user', where: { kind: 'like', property: 'email', pattern: '%@corp.com', escape: '\\' } }, steps: [] }],
  [
    "FIND host WITH state = 'running' GROUP BY region",
    { kind: 'find', start: { filter: 'host', where: { kind: 'compare', property: 'state', op: '=', value: 'running' } }, steps: [], groupBy: 'region' },
  ],
  [
    'FIND user THAT ASSIGNED role WITH admin = true RETURN COUNT',
    {
      kind: 'find',
      start: { filter: 'user' },
      steps: [{ negated: false, verb: 'ASSIGNED', direction: 'both', target: { filter: 'role', where: { kind: 'compare', property: 'admin', op: '=', value: true } } }],
      return: { kind: 'count' },
    },
  ],
  [
    "FIND SHORTEST PATH FROM user WITH email = 'alice@corp.com' TO secret WITH name = 'prod-db-password'",
    {
      kind: 'path',
      from: { filter: 'user', where: { kind: 'compare', property: 'email', op: '=', value: 'alice@corp.com' } },
      to: { filter: 'secret', where: { kind: 'compare', property: 'name', op: '=', value: 'prod-db-password' } },
    },
  ],
  [
    "FIND BLAST RADIUS FROM host WITH _key = 'web-01' DEPTH 4",
    { kind: 'blast', from: { filter: 'host', where: { kind: 'compare', property: '_key', op: '=', value: 'web-01' } }, depth: 4 },
  ],
];

describe('PQL parser: the issue 13 examples', () => {
  for (const [text, tree] of EXAMPLES) {
    it(`parses ${text}`, () => {
      expect(parsePql(text)).toEqual(tree);
    });
  }

  it('keywords and verbs are case-insensitive; names keep their case', () => {
    expect(parsePql("find Host that !protects EDR_agent with Name like 'x%' return count")).toEqual({
      kind: 'find',
      start: { filter: 'Host' },
      steps: [{ negated: true, verb: 'PROTECTS', direction: 'both', target: { filter: 'EDR_agent', where: { kind: 'like', property: 'Name', pattern: 'x%', escape: '\\' } } }],
      return: { kind: 'count' },
    });
  });

  it('all 15 verbs are tokens, and RELATES TO is any verb', () => {
    for (const verb of KNOWN_VERBS) {
      expect(parsePql(`FIND a THAT ${verb.toLowerCase()} b`)).toMatchObject({ steps: [{ verb }] });
    }
    expect(parsePql('FIND a THAT RELATES TO b')).toMatchObject({ steps: [{ verb: undefined, direction: 'both' }] });
  });

  it('a direction after the verb: -> is from the current entity, <- is towards it', () => {
    expect(parsePql('FIND host THAT USES -> role THAT !PROTECTS <- agent')).toMatchObject({
      steps: [{ verb: 'USES', direction: 'out' }, { verb: 'PROTECTS', direction: 'in', negated: true }],
    });
    // `<-` is a direction only right after a verb: in a condition `< -5` stays a comparison.
    expect(parsePql('FIND a WITH x <-5')).toMatchObject({ start: { where: { kind: 'compare', op: '<', value: -5 } } });
  });

  it('AND binds tighter than OR; parentheses, NOT, IN, EXISTS, ESCAPE, literals', () => {
    expect(parsePql("FIND a WITH p = 1 OR q = 'x' AND NOT (r EXISTS OR s IN (1, 'two', true, null)) AND t LIKE 'a!%' ESCAPE '!'")).toEqual({
      kind: 'find',
      start: {
        filter: 'a',
        where: {
          kind: 'or',
          conditions: [
            { kind: 'compare', property: 'p', op: '=', value: 1 },
            {
              kind: 'and',
              conditions: [
                { kind: 'compare', property: 'q', op: '=', value: 'x' },
                {
                  kind: 'not',
                  condition: { kind: 'or', conditions: [{ kind: 'exists', property: 'r' }, { kind: 'in', property: 's', values: [1, 'two', true, null] }] },
                },
                { kind: 'like', property: 't', pattern: 'a!%', escape: '!' },
              ],
            },
          ],
        },
      },
      steps: [],
    });
  });

  it('RETURN projects properties; LIMIT; * and backtick names; quotes escaped', () => {
    expect(parsePql("FIND * WITH `with` = 'it''s' AND b != \"say \\\"hi\\\"\" RETURN _key, name, `count` LIMIT 5")).toEqual({
      kind: 'find',
      start: {
        filter: '*',
        where: { kind: 'and', conditions: [{ kind: 'compare', property: 'with', op: '=', value: "it's" }, { kind: 'compare', property: 'b', op: '!=', value: 'say "hi"' }] },
      },
      steps: [],
      return: { kind: 'properties', properties: ['_key', 'name', 'count'] },
      limit: 5,
    });
  });

  it('numbers: negative, decimal, exponent; every comparison operator', () => {
    expect(parsePql('FIND a WITH a < 1 AND b <= -2.5 AND c > 1e3 AND d >= 0 AND e != 3')).toMatchObject({
      start: {
        where: {
          conditions: [
            { op: '<', value: 1 },
            { op: '<=', value: -2.5 },
            { op: '>', value: 1000 },
            { op: '>=', value: 0 },
            { op: '!=', value: 3 },
          ],
        },
      },
    });
  });

  it('a query over several lines', () => {
    expect(parsePql('FIND host\n  WITH os = "linux"\n  THAT USES role')).toMatchObject({ kind: 'find', steps: [{ verb: 'USES' }] });
  });
});

/** Malformed queries: [query, the text the error points at ('' for the end), what the message expects]. */
const MALFORMED: [string, string, RegExp][] = [
  ['FIND host THAT RUN x', 'RUN', /expected a verb after THAT, found 'RUN'/],
  ['', '', /expected FIND, found end of query/],
  ['SELECT * FROM host', 'SELECT', /expected FIND/],
  ['FIND', '', /an entity type, a class or \* after FIND/],
  ['FIND THAT USES x', 'THAT', /an entity type/],
  ['FIND host WITH', '', /a property name, NOT or '\('/],
  ['FIND host WITH os', '', /an operator/],
  ['FIND host WITH os ==', '=', /a value after =/],
  ["FIND host WITH os = 'linux", '', /a closing '/],
  ['FIND host WITH os = linux', 'linux', /a value after =/],
  ['FIND host WITH os IN', '', /'\(' after IN/],
  ['FIND host WITH os IN (1, 2', '', /',' or '\)'/],
  ['FIND host WITH os IN ()', ')', /a value/],
  ['FIND host WITH os LIKE 5', '5', /a quoted pattern after LIKE/],
  ["FIND host WITH os LIKE 'a' ESCAPE 'ab'", "'ab'", /one quoted character after ESCAPE/],
  ['FIND host WITH (os = 1', '', /AND, OR or '\)'/],
  ['FIND host WITH os = 1 AND', '', /a property name/],
  ['FIND host WITH NOT', '', /a property name/],
  ['FIND host THAT', '', /a verb after THAT/],
  ['FIND host THAT !', '', /a verb after !/],
  ['FIND host THAT USES', '', /an entity type, a class or \* after USES/],
  ['FIND host THAT RELATES role', 'role', /TO after RELATES/],
  ['FIND host THAT USES THAT role', 'THAT', /after USES/],
  ['FIND host foo', 'foo', /WITH, THAT, GROUP BY, RETURN, LIMIT or end of query/],
  ['FIND host WITH a = 1 b = 2', 'b', /AND, OR, THAT/],
  ['FIND host GROUP region', 'region', /BY after GROUP/],
  ['FIND host GROUP BY', '', /a property name after GROUP BY/],
  ['FIND host GROUP BY region RETURN name', 'name', /COUNT after RETURN/],
  ['FIND host RETURN', '', /COUNT or a property name after RETURN/],
  ['FIND host RETURN a,', '', /a property name after ,/],
  ['FIND host LIMIT', '', /a positive whole number after LIMIT/],
  ['FIND host LIMIT 0', '0', /a positive whole number/],
  ['FIND host LIMIT 2.5', '2.5', /a positive whole number/],
  ['FIND host LIMIT 10 THAT USES x', 'THAT', /end of query/],
  ['FIND host RETURN COUNT GROUP BY x', 'GROUP', /LIMIT or end of query/],
  ['FIND SHORTEST FROM a TO b', 'FROM', /PATH after SHORTEST/],
  ['FIND SHORTEST PATH a TO b', 'a', /FROM after SHORTEST PATH/],
  ['FIND SHORTEST PATH FROM a b', 'b', /WITH or TO/],
  ['FIND SHORTEST PATH FROM a TO', '', /after TO/],
  ['FIND SHORTEST PATH FROM a TO b DEPTH 11', '11', /a depth from 0 to 10/],
  ['FIND SHORTEST PATH FROM a TO b THAT USES c', 'THAT', /WITH, DEPTH or end of query/],
  ['FIND BLAST FROM host', 'FROM', /RADIUS after BLAST/],
  ['FIND BLAST RADIUS host', 'host', /FROM after BLAST RADIUS/],
  ['FIND BLAST RADIUS FROM host DEPTH', '', /a depth/],
  ['FIND BLAST RADIUS FROM host DEPTH 2 LIMIT 3', 'LIMIT', /end of query/],
  ['FIND host WITH os = 1 # x', '#', /a word, a value or an operator/],
  ['FIND host WITH 12ab = 1', '12ab', /a number/],
  ['FIND host\nTHAT RUN x', 'RUN', /line 2, col 6: expected a verb after THAT/],
  ['FIND `` = 1', '``', /a name between backticks/],
];

describe(`PQL parser: ${MALFORMED.length} malformed queries, each with its position`, () => {
  for (const [text, at, message] of MALFORMED) {
    it(`rejects ${JSON.stringify(text)} at ${at === '' ? 'the end' : JSON.stringify(at)}`, () => {
      let error: unknown;
      try {
        parsePql(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PqlError);
      const e = error as PqlError;
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(new RegExp(`^line ${e.line}, col ${e.column}: expected .+, found .+$`));
      if (at === '') {
        expect(e.offset).toBe(text.length);
        expect(e.found).toBe('end of query');
      } else {
        expect(text.slice(e.offset)).toMatch(new RegExp(`^${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
      // line and column are the 1-based position of `offset`.
      const before = text.slice(0, e.offset).split('\n');
      expect([e.line, e.column]).toEqual([before.length, before.at(-1)!.length + 1]);
    });
  }

  it('the issue example message: line 1, col 17 for RUN after "FIND hosts THAT "', () => {
    expect(() => parsePql('FIND hosts THAT RUN x')).toThrow("line 1, col 17: expected a verb after THAT, found 'RUN'");
  });
});

/** The PqlError a query throws (fails the test when it throws anything else or nothing). */
function pqlErrorOf(text: string): PqlError {
  let error: unknown;
  try {
    parsePql(text);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PqlError);
  return error as PqlError;
}

describe('PQL parser: hostile input', () => {

  it('nesting past MAX_NESTING (NOT, parentheses) is a PqlError at the token that goes too deep, never a RangeError from recursion', () => {
    for (const [open, levels] of [['NOT ', 1], ['(', 1], ['NOT (', 2]] as const) {
      const text = `FIND a WITH ${open.repeat(20_000)}x = 1`;
      const e = pqlErrorOf(text);
      expect(e.offset).toBe(12 + (open.length * MAX_NESTING) / levels);
      expect(e.message).toMatch(new RegExp(`at most ${MAX_NESTING} nested NOTs and parentheses`));
    }
    // The deepest allowed nesting still parses.
    expect(parsePql(`FIND a WITH ${'NOT '.repeat(MAX_NESTING)}x = 1`)).toMatchObject({ kind: 'find' });
    expect(parsePql(`FIND a WITH ${'('.repeat(MAX_NESTING)}x = 1${')'.repeat(MAX_NESTING)}`)).toMatchObject({ kind: 'find' });
  });
});

describe('PQL parser: malformed Unicode', () => {
  it('a lone surrogate anywhere is a PqlError at its offset, naming it as U+XXXX; a stray astral character is named whole, not by half', () => {
    for (const text of ["FIND a WITH x = 'ab\uD800'", 'FIND `k\uDC00`', "FIND a WITH x LIKE '\uDFFF%'"]) {
      let error: unknown;
      try {
        parsePql(text);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(text)).toBeInstanceOf(PqlError);
      const e = error as PqlError;
      expect(e.offset).toBe(text.search(/\p{Cs}/u));
      expect(e.found).toMatch(/^U\+D[89A-F][0-9A-F]{2}$/);
      expect(e.message).not.toMatch(/\p{Cs}/u);
    }
    expect(() => parsePql('FIND a \u{1F600}')).toThrow("expected a word, a value or an operator, found '\u{1F600}'");
    expect(parsePql("FIND a WITH x = '\u{1F600}'")).toMatchObject({ start: { where: { value: '\u{1F600}' } } });
  });
});

describe('PQL parser: huge input', () => {
  // A hang guard, not a timing: positions counted from the start for every token made this 36 s.
  it('a huge query is read in linear time: 100,000 tokens give their PqlError at the last token, not a hang', { timeout: 10_000 }, () => {
    const text = `FIND a WITH x IN (${'1, '.repeat(50_000)}) oops`;
    const e = pqlErrorOf(text);
    expect(e).toMatchObject({ line: 1, column: e.offset + 1 });
    expect(e.offset).toBeGreaterThan(100_000);
  });

  it('a number too large for a double (1e309) is a PqlError at it, never Infinity', () => {
    for (const literal of ['1e309', '9'.repeat(400)]) {
      const text = `FIND host WITH x = ${literal}`;
      expect(pqlErrorOf(text)).toMatchObject({ offset: text.indexOf(literal) });
    }
    expect(parsePql('FIND host WITH x = 1e308')).toMatchObject({ kind: 'find' });
  });
});
