import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './temp.js';

/** What a SAML Response says, read by a real XML parser (PHP's DOM), and whether its signatures verify. */
export interface InspectedSamlResponse {
  readonly destination: string;
  readonly inResponseTo: string | null;
  readonly issuer: string | null;
  readonly status: string | null;
  readonly encrypted: boolean;
  /** One entry per ds:Signature, in document order (a decrypted assertion's last). */
  readonly signatures: readonly { readonly element: string; readonly valid: boolean }[];
  readonly assertion: {
    readonly issuer: string | null;
    readonly nameId: string | null;
    readonly nameIdFormat: string | null;
    readonly recipient: string | null;
    readonly subjectInResponseTo: string | null;
    readonly audience: string | null;
    readonly attributes: Readonly<Record<string, readonly string[]>>;
  };
}

const INSPECTOR = fileURLToPath(new URL('saml-response.php', import.meta.url));

/**
 * Reads a base64 SAMLResponse outside the code under test: test/helpers/saml-response.php checks each
 * XML signature with `idpCertPem` (libxml2 exclusive C14N + OpenSSL) and decrypts with `spKeyPem`.
 * Needs php with the dom and openssl extensions (see simpleSamlPhpUnavailable).
 */
export function inspectSamlResponse(samlResponse: string, keys: { idpCertPem: string; spKeyPem?: string }): InspectedSamlResponse {
  const dir = tempDir('capsule-saml-response-');
  const certFile = join(dir, 'idp.crt');
  writeFileSync(certFile, keys.idpCertPem);
  const args = [INSPECTOR, certFile];
  if (keys.spKeyPem) {
    const keyFile = join(dir, 'sp.key');
    writeFileSync(keyFile, keys.spKeyPem, { mode: 0o600 });
    args.push(keyFile);
  }
  const run = spawnSync('php', args, { input: Buffer.from(samlResponse, 'base64'), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`saml-response.php refused the response: ${run.stderr || run.error?.message}`);
  return JSON.parse(run.stdout) as InspectedSamlResponse;
}
