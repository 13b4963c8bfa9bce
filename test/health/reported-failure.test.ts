import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { createHealthRegistry, type HealthStatus } from '../../src/health/index.js';

// `fail`: what a request just met counts at once, and outranks a run that began before it.

it('a reported failure is critical at once, a run already under way cannot undo it, and the next run can', async () => {
  const health = createHealthRegistry({ clock: fixedClock(Date.parse('2026-01-01T00:00:00Z')) });
  let release: (status: HealthStatus) => void = () => undefined;
  let gate = new Promise<HealthStatus>((resolve) => (release = resolve));
  health.register({ name: 'repository', title: 'Repository', readiness: true, run: async () => ({ status: await gate, message: 'answers' }) });

  const earlier = health.run('repository');
  health.fail('repository', 'repository unavailable');
  assert.deepEqual(health.summary({ readiness: true }).checks.map((check) => [check.status, check.message]), [['critical', 'repository unavailable']]);
  release('ok');
  await earlier;
  assert.equal(health.summary().status, 'critical', 'the run begun before the failure was reported does not undo it');

  gate = Promise.resolve('ok');
  await health.run('repository');
  assert.deepEqual(health.summary().checks.map((check) => [check.status, check.message]), [['ok', 'answers']]);

  health.fail('no-such-check', 'ignored');
  assert.deepEqual(health.summary().checks.map((check) => check.name), ['repository']);
});
