import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixedClock } from '../../src/clock.js';
import { createRevocationSet } from '../../src/sessions/index.js';

const IDS = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBB', 'CCCCCCCCCCCCCCCCCCCCCC', 'DDDDDDDDDDDDDDDDDDDDDD'];

type Step =
  | { readonly kind: 'add'; readonly id: string; readonly lifeMs: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'has'; readonly id: string }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'lost' }
  | { readonly kind: 'connected' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), id: fc.constantFrom(...IDS), lifeMs: fc.integer({ min: -50, max: 200 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('has' as const), id: fc.constantFrom(...IDS) }),
  fc.constant({ kind: 'sweep' as const }),
  fc.constant({ kind: 'lost' as const }),
  fc.constant({ kind: 'connected' as const }),
);

describe('revocation set', () => {
  it('answers as a model: an id is refused from its add until the latest end told for it, whatever the feed does', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const clock = fixedClock(1_000_000);
        const set = createRevocationSet({ clock });
        // The model: the latest end told for each id; nothing is ever dropped from it.
        const ends = new Map<string, number>();
        for (const s of steps) {
          if (s.kind === 'add') {
            set.add([{ id: s.id, expiresAtMs: clock.now() + s.lifeMs }]);
            if (s.lifeMs > 0) ends.set(s.id, Math.max(ends.get(s.id) ?? 0, clock.now() + s.lifeMs));
          } else if (s.kind === 'advance') clock.advance(s.ms);
          else if (s.kind === 'has') assert.equal(set.has(s.id), (ends.get(s.id) ?? 0) > clock.now());
          else if (s.kind === 'sweep') {
            set.sweep();
            assert.equal(set.state().held, [...ends.values()].filter((end) => end > clock.now()).length, 'a sweep leaves exactly the unexpired');
          } else if (s.kind === 'lost') set.lost('the test cut it');
          else set.connected();
        }
        for (const id of IDS) assert.equal(set.has(id), (ends.get(id) ?? 0) > clock.now());
      }),
      { numRuns: 300 },
    );
  });

  it('says when the feed was lost and why, keeps the first loss, and forgets it once connected', () => {
    const clock = fixedClock(5000);
    const set = createRevocationSet({ clock });
    assert.deepEqual(set.state(), { connected: false, held: 0, lostSinceMs: null, reason: 'not connected yet' });
    set.connected();
    set.add([{ id: IDS[0]!, expiresAtMs: 9000 }]);
    clock.advance(100);
    set.lost('connection ended');
    clock.advance(100);
    set.lost('still down');
    assert.deepEqual(set.state(), { connected: false, held: 1, lostSinceMs: 5100, reason: 'connection ended' });
    assert.equal(set.has(IDS[0]!), true, 'what it knew is still refused');
    set.connected();
    assert.deepEqual(set.state(), { connected: true, held: 1, lostSinceMs: null, reason: null });
  });
});
