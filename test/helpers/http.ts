import { request as httpRequest } from 'node:http';
/** Logs in over HTTP and returns the token from the Set-Cookie header. */
export async function login(url: string, user: string, password: string, cookieName = 'login-token'): Promise<string> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: user, j_password: password }),
  });
  if (response.status !== 200) throw new Error(`login of ${user} failed: ${response.status} ${await response.text()}`);
  const token = tokenOf(response, cookieName);
  if (!token) throw new Error('no token cookie');
  return token;
}

export function tokenOf(response: Response, cookieName = 'login-token'): string | null {
  for (const cookie of response.headers.getSetCookie()) {
    const match = new RegExp(`^${cookieName}=([^;]*)`).exec(cookie);
    if (match) return match[1] ?? null;
  }
  return null;
}

export function withToken(token: string, cookieName = 'login-token'): RequestInit {
  return { headers: { cookie: `${cookieName}=${token}` } };
}

export async function sessionStatus(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api/session`, withToken(token))).status;
}

/** POSTs a form from a chosen loopback address (another client machine, as a load balancer sees it). */
export function postFormFrom(localAddress: string, url: string, fields: Record<string, string>): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** `GET /system/health` as an administrator (anonymous visitors see names only), with the test admin's password. */
export async function healthAsAdmin(url: string, password = 'admin-password'): Promise<Response> {
  const token = await login(url, 'admin', password);
  return fetch(`${url}/system/health`, { headers: { 'login-token': token } });
}
