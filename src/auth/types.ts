export type TokenKind = 'stateful' | 'encapsulated';

/** Who a request belongs to, and the token that says so. */
export interface Session {
  readonly userId: string;
  readonly groups: readonly string[];
  readonly token: {
    readonly type: TokenKind;
    readonly expiresAt: Date;
  };
}

/** The outcome of authenticating a token: the session, and a replacement token when one was issued. */
export interface Authentication {
  readonly session: Session;
  /**
   * A token to send back in a new cookie: a fresh encapsulated one (refresh past half-life, or
   * re-signing with the current key), or the same stateful token, whose expiry was pushed back
   * (the cookie, which lasts until the old expiry, must be told).
   */
  readonly renewedToken?: string;
}

/** Just what the handler reads of a request, so servers other than Fastify can use it. */
export interface TokenRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}
