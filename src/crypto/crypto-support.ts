import { createHmac, timingSafeEqual } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import type { KeyStorageMode } from './key-files.js';
import type { KeySet } from './key-set.js';
import { keyId } from './keys.js';
import { decrypt, encrypt, isProtectedValue } from './protected-value.js';

export interface KeyIds {
  readonly storage: KeyStorageMode;
  readonly master: string;
  readonly stagedMaster: string | null;
  /** Master keys replaced by rotations: they decrypt what was written with them, never encrypt. */
  readonly retiredMaster: readonly string[];
  /** Retired master key files skipped as damaged (their names): values under them do not decrypt. */
  readonly damagedRetiredMaster?: readonly string[];
  readonly hmac: string;
  readonly stagedHmac: string | null;
  readonly retiredHmac: readonly string[];
}

export interface HmacKey {
  readonly kid: string;
  readonly key: Buffer;
}

export interface CryptoSupport {
  protect(plain: string): string;
  unprotect(value: string): string;
  isProtected(value: string): boolean;
  /** HMAC-SHA256 with the current HMAC key. */
  sign(data: string | Uint8Array): Buffer;
  /** True when `mac` is the HMAC of `data` under the current, staged or a retired key (constant time). */
  verify(data: string | Uint8Array, mac: Uint8Array): boolean;
  /** The key that signs now. */
  signingKey(): HmacKey;
  /** A key that may verify (current, staged or retired), by id; undefined for an unknown id. */
  verificationKey(kid: string): Buffer | undefined;
  keyIds(): KeyIds;
  /** Reloads the keys from storage (no restart); returns the new ids. */
  refresh(): Promise<KeyIds>;
}

interface State {
  readonly ids: KeyIds;
  readonly master: Buffer;
  readonly masterKid: string;
  readonly decryptionKeys: ReadonlyMap<string, Buffer>;
  readonly hmac: HmacKey;
  readonly verificationKeys: ReadonlyMap<string, Buffer>;
}

function stateOf(keys: KeySet): State {
  // While a master rotation is under way new values are encrypted with the new (staged) key,
  // so the rotation's rewrite pass is never outrun by fresh values under the old one.
  const encryptionKey = keys.stagedMaster ?? keys.master;
  const masterKid = keyId(encryptionKey);
  const hmacKid = keyId(keys.hmac);
  const decryptionKeys = new Map((keys.retiredMaster ?? []).map((retired) => [retired.kid, retired.key] as const));
  decryptionKeys.set(keyId(keys.master), keys.master);
  if (keys.stagedMaster) decryptionKeys.set(keyId(keys.stagedMaster), keys.stagedMaster);
  const verificationKeys = new Map<string, Buffer>();
  for (const retired of keys.retiredHmac) verificationKeys.set(retired.kid, retired.key);
  if (keys.stagedHmac) verificationKeys.set(keyId(keys.stagedHmac), keys.stagedHmac);
  verificationKeys.set(hmacKid, keys.hmac);
  return {
    ids: {
      storage: keys.storage,
      master: keyId(keys.master),
      stagedMaster: keys.stagedMaster ? keyId(keys.stagedMaster) : null,
      retiredMaster: (keys.retiredMaster ?? []).map((retired) => retired.kid),
      damagedRetiredMaster: (keys.damagedRetiredMaster ?? []).map((damaged) => damaged.name),
      hmac: hmacKid,
      stagedHmac: keys.stagedHmac ? keyId(keys.stagedHmac) : null,
      retiredHmac: keys.retiredHmac.map((retired) => retired.kid),
    },
    master: encryptionKey,
    masterKid,
    decryptionKeys,
    hmac: { kid: hmacKid, key: keys.hmac },
    verificationKeys,
  };
}

export interface CryptoSupportDeps {
  /** Reads the key set from storage (see `loadKeySet`). */
  readonly load: () => Promise<KeySet>;
}

/**
 * The crypto service. Until `refresh` has loaded keys, every operation throws the reason the
 * keys could not be loaded, so a command that needs no keys still works on a broken home.
 */
export function createCryptoSupport({ load }: CryptoSupportDeps): CryptoSupport {
  let state: State | undefined;
  let loadError: unknown = new CapsuleError('KEY_MISSING', 'the keys have not been loaded');

  function current(): State {
    if (!state) throw loadError;
    return state;
  }

  return {
    protect: (plain) => {
      const { master, masterKid } = current();
      return encrypt(plain, master, masterKid);
    },
    unprotect: (value) => {
      const { decryptionKeys, masterKid } = current();
      return decrypt(value, decryptionKeys, masterKid);
    },
    isProtected: isProtectedValue,
    sign: (data) => createHmac('sha256', current().hmac.key).update(data).digest(),
    verify: (data, mac) => {
      let ok = false;
      for (const key of current().verificationKeys.values()) {
        const expected = createHmac('sha256', key).update(data).digest();
        ok = (expected.length === mac.length && timingSafeEqual(expected, mac)) || ok;
      }
      return ok;
    },
    signingKey: () => current().hmac,
    verificationKey: (kid) => current().verificationKeys.get(kid),
    keyIds: () => current().ids,
    async refresh() {
      try {
        state = stateOf(await load());
        return state.ids;
      } catch (error) {
        // A running instance keeps the keys it has: a broken file must not stop every login.
        if (!state) loadError = error;
        throw error;
      }
    },
  };
}
