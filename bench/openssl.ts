import { execFileSync } from 'node:child_process';

/** OpenSSL's own HMAC-SHA256 rate for inputs of `bytes`: the native limit. */
export function opensslHmacRate(bytes: number): number | null {
  try {
    const output = execFileSync('openssl', ['speed', '-seconds', '2', '-bytes', String(bytes), '-hmac', 'sha256'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /hmac\(sha256\)\s+([\d.]+)k/.exec(output);
    return match ? (Number(match[1]) * 1000) / bytes : null;
  } catch {
    return null;
  }
}
