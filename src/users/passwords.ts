import { hash, verify, type Algorithm } from '@node-rs/argon2';

// The package's `Algorithm` is a const enum, which isolated modules cannot read at run time.
const ARGON2ID: Algorithm.Argon2id = 2;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export interface Argon2Options {
  /** KiB of memory per hash; OWASP's minimum for argon2id is 19 MiB with 2 passes. */
  readonly memoryCost?: number;
  readonly timeCost?: number;
}

export function createArgon2Hasher(options: Argon2Options = {}): PasswordHasher {
  const params = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryCost ?? 19_456,
    timeCost: options.timeCost ?? 2,
    parallelism: 1,
  };
  return {
    hash: (password) => hash(password, params),
    verify: async (encoded, password) => {
      try {
        return await verify(encoded, password);
      } catch {
        // A malformed stored hash is a wrong password, not a server error.
        return false;
      }
    },
  };
}
