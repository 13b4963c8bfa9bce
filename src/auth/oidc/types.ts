import type { HealthStatus } from '../../health/index.js';

/** A provider's check (check.ts), as the OIDC service (oidc-login.ts) and its health checks report it. */
export interface OidcCheckResult {
  readonly name: string;
  readonly status: HealthStatus;
  readonly message: string;
  readonly code: string | null;
}
