/**
 * PQL's recursive-descent parser, one function per grammar rule (README,
 * "Graph queries (PQL)"). Keywords and verbs are case-insensitive; a word
 * that is a keyword can still be a name between backticks.
 */
import { KNOWN_VERBS, type KnownVerb } from '../model/vocabulary.js';
import type { CompareOp, PqlCondition, PqlDirection, PqlFind, PqlNode, PqlQuery, PqlReturn, PqlStep, PqlValue } from './ast.js';
import { PqlError } from './errors.js';
import { describeToken, tokenize, type Token } from './lexer.js';

/** The deepest DEPTH a path or blast radius may ask for. */
export const MAX_DEPTH = 10;

/**
 * The deepest a condition may nest (each NOT and each parenthesis is a
 * level): past it the parser would recurse toward the end of the stack.
 */
export const MAX_NESTING = 64;

/** Words that are keywords wherever a name could stand (use backticks for such a name). */
const RESERVED = new Set([
  'FIND', 'THAT', 'WITH', 'GROUP', 'BY', 'RETURN', 'LIMIT', 'SHORTEST', 'PATH', 'FROM', 'TO', 'DEPTH', 'BLAST', 'RADIUS',
  'AND', 'OR', 'NOT', 'IN', 'LIKE', 'EXISTS', 'ESCAPE', 'RELATES', 'TRUE', 'FALSE', 'NULL', ...KNOWN_VERBS,
]);
const OPS: readonly string[] = ['=', '!=', '<', '<=', '>', '>='];

class Parser {
  #at = 0;
  #nesting = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  get peek(): Token {
    return this.tokens[this.#at]!;
  }
  next(): Token {
    const token = this.tokens[this.#at]!;
    if (token.kind !== 'end') this.#at++;
    return token;
  }
  fail(expected: string, token: Token = this.peek): never {
    throw new PqlError(expected, describeToken(token), token.line, token.column, token.offset);
  }
  isWord(word: string, token: Token = this.peek): boolean {
    return token.kind === 'word' && token.text.toUpperCase() === word;
  }
  accept(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.next();
    return true;
  }
  expect(word: string, expected = word): void {
    if (!this.accept(word)) this.fail(expected);
  }
  isPunct(p: string, token: Token = this.peek): boolean {
    return token.kind === 'punct' && token.text === p;
  }
  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.next();
    return true;
  }

  query(): PqlQuery {
    this.expect('FIND');
    let query: PqlQuery;
    if (this.accept('SHORTEST')) {
      this.expect('PATH', 'PATH after SHORTEST');
      this.expect('FROM', 'FROM after SHORTEST PATH');
      const from = this.node('an entity type, a class or * after FROM');
      this.expect('TO', from.where ? 'AND, OR or TO' : 'WITH or TO');
      const to = this.node('an entity type, a class or * after TO');
      const depth = this.depth(to.where ? 'AND, OR, DEPTH or end of query' : 'WITH, DEPTH or end of query');
      query = { kind: 'path', from, to, ...(depth === undefined ? {} : { depth }) };
    } else if (this.accept('BLAST')) {
      this.expect('RADIUS', 'RADIUS after BLAST');
      this.expect('FROM', 'FROM after BLAST RADIUS');
      const from = this.node('an entity type, a class or * after FROM');
      const depth = this.depth(from.where ? 'AND, OR, DEPTH or end of query' : 'WITH, DEPTH or end of query');
      query = { kind: 'blast', from, ...(depth === undefined ? {} : { depth }) };
    } else {
      query = this.find();
    }
    return query;
  }

  find(): PqlFind {
    const start = this.node('an entity type, a class or * after FIND');
    const steps: PqlStep[] = [];
    while (this.accept('THAT')) steps.push(this.step());
    // What may still come, for the message when something else does.
    const last = steps.at(-1)?.target ?? start;
    let next = [last.where ? 'AND, OR' : 'WITH', 'THAT', 'GROUP BY', 'RETURN', 'LIMIT'];
    let groupBy: string | undefined;
    if (this.accept('GROUP')) {
      this.expect('BY', 'BY after GROUP');
      groupBy = this.name('a property name after GROUP BY', false);
      next = ['RETURN', 'LIMIT'];
    }
    let ret: PqlReturn | undefined;
    if (this.accept('RETURN')) {
      if (this.accept('COUNT')) {
        ret = { kind: 'count' };
        next = ['LIMIT'];
      } else {
        if (groupBy !== undefined) this.fail('COUNT after RETURN (a GROUP BY query returns groups, not properties)');
        const properties = [this.name('COUNT or a property name after RETURN', false)];
        while (this.acceptPunct(',')) properties.push(this.name('a property name after ,', false));
        ret = { kind: 'properties', properties };
        next = [',', 'LIMIT'];
      }
    }
    let limit: number | undefined;
    if (this.accept('LIMIT')) {
      limit = this.integer('a positive whole number after LIMIT', 1, Number.MAX_SAFE_INTEGER);
      next = [];
    }
    if (this.peek.kind !== 'end') this.fail([...next, 'end of query'].join(', ').replace(/, ([^,]+)$/, ' or $1'));
    return {
      kind: 'find',
      start,
      steps,
      ...(groupBy === undefined ? {} : { groupBy }),
      ...(ret ? { return: ret } : {}),
      ...(limit === undefined ? {} : { limit }),
    };
  }

  step(): PqlStep {
    const negated = this.acceptPunct('!');
    const token = this.peek;
    let verb: KnownVerb | undefined;
    const upper = token.kind === 'word' ? token.text.toUpperCase() : '';
    if ((KNOWN_VERBS as readonly string[]).includes(upper)) {
      this.next();
      verb = upper as KnownVerb;
    } else if (upper === 'RELATES') {
      this.next();
      this.expect('TO', 'TO after RELATES');
    } else {
      this.fail(negated ? 'a verb after !' : 'a verb after THAT');
    }
    let direction: PqlDirection = 'both';
    if (this.acceptPunct('->')) direction = 'out';
    else if (this.isPunct('<') && this.isPunct('-', this.tokens[this.#at + 1]) && this.tokens[this.#at + 1]!.offset === this.peek.offset + 1) {
      this.next();
      this.next();
      direction = 'in';
    }
    const target = this.node(`an entity type, a class or * after ${verb ?? 'RELATES TO'}`);
    return { negated, verb, direction, target };
  }

  node(expected: string): PqlNode {
    let filter: string;
    if (this.acceptPunct('*')) filter = '*';
    else filter = this.name(expected, true);
    if (!this.accept('WITH')) return { filter };
    return { filter, where: this.or() };
  }

  /** A name: a word (not a reserved one when `strict`) or a backtick-quoted name. */
  name(expected: string, strict: boolean): string {
    const token = this.peek;
    if (token.kind === 'name') return this.next().text;
    if (token.kind === 'word' && !(strict && RESERVED.has(token.text.toUpperCase()))) return this.next().text;
    return this.fail(expected);
  }

  or(): PqlCondition {
    const items = [this.and()];
    while (this.accept('OR')) items.push(this.and());
    return items.length === 1 ? items[0]! : { kind: 'or', conditions: items };
  }

  and(): PqlCondition {
    const items = [this.condition()];
    while (this.accept('AND')) items.push(this.condition());
    return items.length === 1 ? items[0]! : { kind: 'and', conditions: items };
  }

  condition(): PqlCondition {
    if (this.isWord('NOT') || this.isPunct('(')) {
      if (this.#nesting >= MAX_NESTING) this.fail(`at most ${MAX_NESTING} nested NOTs and parentheses`);
      this.#nesting++;
      try {
        if (this.accept('NOT')) return { kind: 'not', condition: this.condition() };
        this.next();
        const inner = this.or();
        if (!this.acceptPunct(')')) this.fail("AND, OR or ')'");
        return inner;
      } finally {
        this.#nesting--;
      }
    }
    const token = this.peek;
    if (token.kind !== 'name' && token.kind !== 'word') this.fail("a property name, NOT or '('");
    const property = this.next().text;
    const op = this.peek;
    if (op.kind === 'punct' && OPS.includes(op.text)) {
      this.next();
      return { kind: 'compare', property, op: op.text as CompareOp, value: this.value(`a value after ${op.text}`) };
    }
    if (this.accept('IN')) {
      if (!this.acceptPunct('(')) this.fail("'(' after IN");
      const values = [this.value('a value')];
      while (this.acceptPunct(',')) values.push(this.value('a value after ,'));
      if (!this.acceptPunct(')')) this.fail("',' or ')'");
      return { kind: 'in', property, values };
    }
    if (this.accept('LIKE')) {
      const pattern = this.peek;
      if (pattern.kind !== 'string') this.fail('a quoted pattern after LIKE');
      this.next();
      let escape = '\\';
      if (this.accept('ESCAPE')) {
        const e = this.peek;
        if (e.kind !== 'string' || [...e.text].length !== 1) this.fail('one quoted character after ESCAPE');
        this.next();
        escape = e.text;
      }
      return { kind: 'like', property, pattern: pattern.text, escape };
    }
    if (this.accept('EXISTS')) return { kind: 'exists', property };
    return this.fail(`an operator (=, !=, <, <=, >, >=, IN, LIKE or EXISTS) after ${property}`, op);
  }

  value(expected: string): PqlValue {
    const token = this.peek;
    if (token.kind === 'string') return this.next().text;
    if (token.kind === 'number') return Number(this.next().text);
    if (this.isPunct('-') && this.tokens[this.#at + 1]!.kind === 'number') {
      this.next();
      return -Number(this.next().text);
    }
    if (this.accept('TRUE')) return true;
    if (this.accept('FALSE')) return false;
    if (this.accept('NULL')) return null;
    return this.fail(expected);
  }

  integer(expected: string, min: number, max: number): number {
    const token = this.peek;
    const n = token.kind === 'number' ? Number(token.text) : NaN;
    if (!Number.isInteger(n) || n < min || n > max || !/^[0-9]+$/.test(token.text)) this.fail(expected);
    this.next();
    return n;
  }

  depth(otherwise: string): number | undefined {
    if (!this.accept('DEPTH')) {
      if (this.peek.kind !== 'end') this.fail(otherwise);
      return undefined;
    }
    const depth = this.integer(`a depth from 0 to ${MAX_DEPTH} after DEPTH`, 0, MAX_DEPTH);
    if (this.peek.kind !== 'end') this.fail('end of query');
    return depth;
  }
}

/**
 * Parses a PQL query into its syntax tree; throws a {@link PqlError} naming
 * the line, column and what was expected for a malformed one.
 *
 * @example
 * import { parsePql, PqlError } from 'parallax-edge';
 * const ast = parsePql("FIND host WITH os = 'linux' THAT USES aws_iam_role");
 * ast.kind; // 'find'
 * try { parsePql('FIND host THAT RUN x'); } catch (e) { (e as PqlError).column; } // 16
 */
export function parsePql(text: string): PqlQuery {
  if (typeof text !== 'string') throw new TypeError('a PQL query must be a string');
  const parser = new Parser(tokenize(text));
  return parser.query();
}
