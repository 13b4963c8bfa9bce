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
