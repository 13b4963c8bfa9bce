import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { CapsuleError } from '../../errors.js';

/**
 * TLS for a repository URL's `sslmode` (and `sslrootcert`), read as libpq reads them:
 * - `disable` (or none): plain TCP;
 * - `require`, `prefer`, `allow`: encrypted, the server's certificate not checked (node-postgres
 *   cannot fall back to plain TCP as libpq's `prefer` and `allow` do: they mean TLS here);
 * - `verify-ca`: the certificate must chain to a trusted CA; the host name is not compared;
 * - `verify-full`: the chain and the host name.
 * `sslrootcert=FILE` names the CAs to trust (PEM) instead of the system's.
 */
export function tlsOptionsOf(params: Readonly<Record<string, string>>): ConnectionOptions | undefined {
  const mode = params.sslmode ?? 'disable';
  const ca = params.sslrootcert === undefined ? undefined : readRootCert(params.sslrootcert);
  switch (mode) {
    case 'disable':
      return undefined;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // The chain is verified; returning nothing from checkServerIdentity skips only the name check.
      return { rejectUnauthorized: true, ...(ca && { ca }), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca && { ca }) };
    default:
      throw new CapsuleError('INVALID_ARGUMENT', `the repository URL has sslmode=${mode}; give disable, require, verify-ca or verify-full`);
  }
}

function readRootCert(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `the repository URL's sslrootcert ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const CERTIFICATE_REFUSALS = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/;

/** Why a TLS connection to the repository failed, in words, or null when the error is not TLS's. */
export function tlsRefusalOf(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string' && CERTIFICATE_REFUSALS.test(code)) {
    return `the server's TLS certificate was refused (${message}); check sslmode and sslrootcert in the repository URL`;
  }
  if (/does not support SSL connections/i.test(message)) return 'the server does not offer TLS; turn ssl on there, or use sslmode=disable on a network you trust';
  return null;
}
