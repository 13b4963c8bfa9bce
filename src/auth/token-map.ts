/** How many characters at a token's end key the map: its signature or secret, random in each token. */
const KEY_LENGTH = 22;

/**
 * A map from whole tokens to what is known of them, looked up by the token's last characters and
 * confirmed by comparing the whole string. Why: a token arrives as a new string on every request,
 * and a Map keyed by it hashes all of its 200-odd characters each time (about 390 ns in a tight
 * loop, against 150 ns this way; BENCHMARKS.md). Only the exact token that was stored is ever
 * found; two tokens with the same end (chance, or made to) only push each other out. The final
 * comparison is not constant-time, as a Map's own was not: to be compared with a kept token at
 * all, a guess must first end in its 22 characters (132 random bits), which only its holder has.
 */
export class TokenMap<V> {
  readonly #entries = new Map<string, { readonly token: string; readonly value: V }>();

  get size(): number {
    return this.#entries.size;
  }

  get(token: string): V | undefined {
    const entry = this.#entries.get(token.slice(-KEY_LENGTH));
    return entry !== undefined && entry.token === token ? entry.value : undefined;
  }

  set(token: string, value: V): void {
    this.#entries.set(token.slice(-KEY_LENGTH), { token, value });
  }

  delete(token: string): void {
    const key = token.slice(-KEY_LENGTH);
    if (this.#entries.get(key)?.token === token) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
