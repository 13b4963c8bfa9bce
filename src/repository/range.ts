import type { RangeQuery } from './types.js';

/**
 * The bounds of a range query as SQL compares text in both backends (SQLite's BINARY, PostgreSQL's
 * COLLATE "C": the bytes of UTF-8, that is code point order). A prefix becomes a range, never a
 * LIKE pattern, so `%` and `_` in it are plain characters and the index is read from its start.
 */
export interface RangeBounds {
  readonly lower: string;
  /** `>` when true (after), `>=` when false (a prefix, or nothing). */
  readonly lowerExclusive: boolean;
  /** Everything below this and nothing above it begins with the prefix; null: no prefix. */
  readonly upper: string | null;
}

export function rangeBounds({ prefix = '', after }: RangeQuery): RangeBounds {
  const upper = prefix === '' ? null : successorOfPrefix(prefix);
  if (after !== undefined && compareCodePoints(after, prefix) >= 0) return { lower: after, lowerExclusive: true, upper };
  return { lower: prefix, lowerExclusive: false, upper };
}

/** The least string greater than every string that begins with `prefix`; null when there is none. */
function successorOfPrefix(prefix: string): string | null {
  const codePoints = [...prefix];
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last === 0x10ffff) continue;
    // The surrogates are not characters: the code point after U+D7FF in UTF-8 is U+E000.
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    return codePoints.join('') + String.fromCodePoint(next);
  }
  return null;
}

function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
