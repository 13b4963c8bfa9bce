import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CapsuleError } from '../errors.js';
import type { TlsFiles } from './app.js';

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'EISDIR' ? 'is a folder' : (error as Error).message;
    throw new CapsuleError('INVALID_ARGUMENT', `${what} ${path} ${reason}`);
  }
}

/**
 * The certificate and key for `--tls-cert` and `--tls-key`, checked before the server starts: both
 * PEM, and the key the certificate's. Each problem is one line naming the file.
 */
export function readTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const cert = read(certPath, '--tls-cert');
  const key = read(keyPath, '--tls-key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', `--tls-cert ${certPath} is not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', `--tls-key ${keyPath} is not a PEM private key (an encrypted key needs its passphrase removed)`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CapsuleError('INVALID_ARGUMENT', `--tls-key ${keyPath} is not the key of the certificate in ${certPath}`);
  }
  return { cert, key };
}
