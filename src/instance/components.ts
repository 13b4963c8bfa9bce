import { oidcComponent } from '../auth/oidc/oidc-config.js';
import { samlComponent } from '../auth/saml/saml-config.js';
import { bruteForceComponent } from '../auth/brute-force-config.js';
import { passwordPolicyComponent } from '../auth/password-policy-config.js';
import { tokenComponent } from '../auth/token-config.js';
import { farmStoreComponent } from '../farm-store/index.js';
import type { ComponentDefinition } from '../config/index.js';
import { healthComponent } from '../health/index.js';
import { httpComponent } from '../http/index.js';
import { metricsComponent } from '../http/metrics-config.js';
import { oauthClientComponent } from '../oauth/oauth-config.js';
import { replicationAgentComponent } from '../replication/index.js';
import { sessionsComponent } from '../sessions/index.js';

/** Every configurable component of an instance, registered with its configuration admin. */
export const COMPONENTS: readonly ComponentDefinition[] = [tokenComponent, bruteForceComponent, sessionsComponent, passwordPolicyComponent, farmStoreComponent, httpComponent, healthComponent, metricsComponent, oauthClientComponent, oidcComponent, samlComponent, replicationAgentComponent];
