import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bruteForceSettings } from '../../src/auth/brute-force-config.js';
import { afterFailure, isLocked, type AccountFailures } from '../../src/auth/brute-force-rule.js';

const DEFAULTS = bruteForceSettings({});

/** `times` failures `gapMs` apart from `startMs`: the record and each failure's lockout and wait. */
function fail(times: number, gapMs: number, settings = DEFAULTS, startMs = 1_000_000, from: AccountFailures | null = null) {
  let record = from;
  const outcomes: { lockout: string | null; waitSeconds: number }[] = [];
  for (let i = 0; i < times; i++) {
    const outcome = afterFailure(record, startMs + i * gapMs, '192.0.2.1', settings);
    record = outcome.record;
    outcomes.push({ lockout: outcome.lockout, waitSeconds: outcome.waitSeconds });
  }
  return { record: record!, outcomes };
}

describe("Keycloak's brute force rule", () => {
  it("has Keycloak's defaults, except maxFailures 10", () => {
    assert.deepEqual(DEFAULTS, {
      enabled: true,
      maxFailures: 10,
      waitIncrementSeconds: 60,
      maxWaitSeconds: 900,
      maxDeltaTimeSeconds: 43_200,
      quickLoginCheckMilliSeconds: 1000,
      minimumQuickLoginWaitSeconds: 60,
      permanentLockout: false,
      maxTemporaryLockouts: 0,
    });
  });

  it('locks at maxFailures for waitIncrementSeconds, and each further failure again, longer every maxFailures, at most maxWaitSeconds', () => {
    const settings = { ...DEFAULTS, maxFailures: 3, waitIncrementSeconds: 100, maxWaitSeconds: 250 };
    const { outcomes, record } = fail(10, 2000, settings);
    assert.deepEqual(outcomes.map((outcome) => outcome.waitSeconds), [0, 0, 100, 100, 100, 200, 200, 200, 250, 250]);
    assert.equal(outcomes[2]!.lockout, 'temporary');
    assert.equal(record.temporaryLockouts, 8);
    assert.equal(record.lastAddress, '192.0.2.1');
    assert.ok(isLocked(record, record.lastFailureMs + 249_999));
    assert.ok(!isLocked(record, record.lastFailureMs + 250_000));
  });

  it('failures further apart than maxDeltaTimeSeconds start again from nothing', () => {
    const settings = { ...DEFAULTS, maxDeltaTimeSeconds: 60 };
    const { record } = fail(9, 2000, settings);
    assert.equal(record.failures, 9);
    const later = afterFailure(record, record.lastFailureMs + 60_001, '192.0.2.9', settings);
    assert.equal(later.record.failures, 1);
    assert.equal(later.lockout, null);
  });

  it('two failures closer than quickLoginCheckMilliSeconds lock for minimumQuickLoginWaitSeconds; in the same millisecond they do not (Keycloak: delta > 0)', () => {
    assert.deepEqual(fail(2, 999).outcomes[1], { lockout: 'temporary', waitSeconds: 60 });
    assert.deepEqual(fail(2, 1000).outcomes[1], { lockout: null, waitSeconds: 0 });
    assert.deepEqual(fail(2, 0).outcomes[1], { lockout: null, waitSeconds: 0 });
    assert.deepEqual(fail(2, 500, { ...DEFAULTS, quickLoginCheckMilliSeconds: 0 }).outcomes[1], { lockout: null, waitSeconds: 0 });
  });

  it('permanentLockout: at once at maxFailures with maxTemporaryLockouts 0, else after that many temporary ones', () => {
    const atOnce = fail(3, 2000, { ...DEFAULTS, maxFailures: 3, permanentLockout: true });
    assert.deepEqual(atOnce.outcomes.map((outcome) => outcome.lockout), [null, null, 'permanent']);
    assert.ok(isLocked(atOnce.record, Number.MAX_SAFE_INTEGER - 1));
    const after2 = fail(5, 2000, { ...DEFAULTS, maxFailures: 3, permanentLockout: true, maxTemporaryLockouts: 2 });
    assert.deepEqual(after2.outcomes.map((outcome) => outcome.lockout), [null, null, 'temporary', 'temporary', 'permanent']);
  });
});
