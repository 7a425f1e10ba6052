/**
 * PQL's tokens. Words are not classified here: the parser decides whether a
 * word is a keyword (case-insensitive) or a name from where it stands.
 */
import { PqlError } from './errors.js';

export type TokenKind = 'word' | 'name' | 'string' | 'number' | 'punct' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The word, the quoted name or string's value, the number's text, or the punctuation. */
  readonly text: string;
  /** The token as written in the query. */
  readonly raw: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

const PUNCT = ['!=', '<=', '>=', '->', '*', '!', '=', '<', '>', '(', ')', ',', '-'] as const;
const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_.:]/;
const LONE_SURROGATE = /\p{Cs}/u;

/** Position of `offset` in `text`, 1-based. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** How an error message shows a token. */
export function describeToken(token: Token): string {
  return token.kind === 'end' ? 'end of query' : `'${token.raw}'`;
}

/** Splits a query into tokens, ending with one `end` token. Throws PqlError for an unterminated string, a stray character or a lone surrogate. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  // Positions are asked for in increasing order: count lines from the last one, not from the start (linear, not quadratic).
  let seen = 0;
  let seenLine = 1;
  let seenLineStart = 0;
  const position = (offset: number): { line: number; column: number } => {
    if (offset < seen) return positionOf(text, offset);
    for (; seen < offset && seen < text.length; seen++) {
      if (text[seen] === '\n') {
        seenLine++;
        seenLineStart = seen + 1;
      }
    }
    return { line: seenLine, column: offset - seenLineStart + 1 };
  };
  const fail = (expected: string, found: string, at: number): never => {
    const { line, column } = position(at);
    throw new PqlError(expected, found, line, column, at);
  };
  // A lone surrogate is no character: stores would read it differently (SQLite as U+FFFD).
  const lone = LONE_SURROGATE.exec(text);
  if (lone) fail('well-formed Unicode (a lone surrogate is not a character)', `U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}`, lone.index);
  const push = (kind: TokenKind, value: string, start: number): void => {
    const { line, column } = position(start);
    tokens.push({ kind, text: value, raw: text.slice(start, i), offset: start, line, column });
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"') {
      // A quote inside is doubled ('it''s') or escaped with a backslash.
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(`a closing ${ch}`, 'end of query', i);
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === ch && text[i + 1] === ch) {
          value += ch;
          i += 2;
        } else if (c === ch) {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      push('string', value, start);
      continue;
    }
    if (ch === '`') {
      const close = text.indexOf('`', i + 1);
      if (close === -1) fail('a closing `', 'end of query', text.length);
      const value = text.slice(i + 1, close);
      if (value === '' || value.includes('"')) fail('a name between backticks (not empty, without ")', `'${value}'`, i);
      i = close + 1;
      push('name', value, start);
      continue;
    }
    if (/[0-9]/.test(ch)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      i += m[0].length;
      if (i < text.length && WORD_PART.test(text[i]!)) fail('a number', `'${text.slice(start, i + 1)}'`, start);
      // No property holds a non-finite number, and stores bind Infinity differently.
      if (!Number.isFinite(Number(m[0]))) fail('a number a double can hold', `'${m[0].length > 40 ? `${m[0].slice(0, 40)}…` : m[0]}'`, start);
      push('number', m[0], start);
      continue;
    }
    if (WORD_START.test(ch)) {
      while (i < text.length && WORD_PART.test(text[i]!)) i++;
      push('word', text.slice(start, i), start);
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, i));
    if (punct) {
      i += punct.length;
      push('punct', punct, start);
      continue;
    }
    fail('a word, a value or an operator', `'${String.fromCodePoint(text.codePointAt(i)!)}'`, i);
  }
  const { line, column } = position(text.length);
  tokens.push({ kind: 'end', text: '', raw: '', offset: text.length, line, column });
  return tokens;
}
