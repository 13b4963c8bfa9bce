import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressKey, createAddressLimiter } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';

const WINDOW_MS = 60_000;
const LIMIT = 30;

const hextet = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(hextet, { minLength: 8, maxLength: 8 });
const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((bytes) => bytes.join('.'));

/** An IPv6 address in one of the ways it may be written: full, zero-padded, upper case, with the longest zero run or another one compressed. */
function written(parts: readonly number[], style: { pad: boolean; upper: boolean; compress: number }): string {
  const text = parts.map((part) => {
    const hex = part.toString(16);
    const padded = style.pad ? hex.padStart(4, '0') : hex;
    return style.upper ? padded.toUpperCase() : padded;
  });
  // Compress a run of zero groups starting at the chosen group, when there is one there.
  const start = style.compress % 8;
  let end = start;
  while (end < 8 && parts[end] === 0) end++;
  if (end === start) return text.join(':');
  return `${text.slice(0, start).join(':')}::${text.slice(end).join(':')}`;
}
const style = fc.record({ pad: fc.boolean(), upper: fc.boolean(), compress: fc.nat() });

function limitAddress(limiter: ReturnType<typeof createAddressLimiter>, address: string): void {
  for (let i = 0; i < LIMIT; i++) limiter.failed(address);
}

describe('addressKey', () => {
  it('maps every address of one /64, however written, to one key, and addresses of other /64s to others', () => {
    fc.assert(
      fc.property(groups, groups, style, style, (a, b, styleA, styleB) => {
        // b in the same /64 as a: a's first four groups, b's last four (not ::ffff:0:0/96, which is IPv4).
        const sameNet = [...a.slice(0, 4), ...b.slice(4)];
        fc.pre(!(a.slice(0, 5).every((g) => g === 0) && (a[5] === 0xffff || sameNet[5] === 0xffff)));
        assert.equal(addressKey(written(a, styleA)), addressKey(written(sameNet, styleB)));
        const otherNet = [...b.slice(0, 4), ...a.slice(4)];
        fc.pre(b.slice(0, 4).some((g, i) => g !== a[i]) && !(b.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff));
        assert.notEqual(addressKey(written(a, styleA)), addressKey(written(otherNet, styleB)));
      }),
    );
  });

  it('names the /64 in its canonical form', () => {
    assert.equal(addressKey('2001:DB8:0:0:1:2:3:4'), '2001:db8::/64');
    assert.equal(addressKey('2001:db8:0:1::'), '2001:db8:0:1::/64');
    assert.equal(addressKey('::1'), '::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80::/64');
  });

  it('counts an IPv4 address written as IPv4-mapped IPv6 as that IPv4 address', () => {
    fc.assert(
      fc.property(ipv4, (address) => {
        assert.equal(addressKey(address), address);
        assert.equal(addressKey(`::ffff:${address}`), address);
        const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
        assert.equal(addressKey(`0:0:0:0:0:FFFF:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`), address);
      }),
    );
  });

  it('keeps what is not an address as it is', () => {
    assert.equal(addressKey('unknown'), 'unknown');
  });
});

describe('the address limiter', () => {
  it('refuses an address at its limit until its window ends, and counts a /64 as one address', () => {
    const clock = fixedClock(1_000);
    const limiter = createAddressLimiter({ clock });
    for (let i = 1; i <= LIMIT; i++) {
      const attempt = limiter.begin(`2001:db8:1:2::${i.toString(16)}`);
      assert.ok(!('retryAfterSeconds' in attempt), `attempt ${i}`);
      attempt.failed();
    }
    assert.deepEqual(limiter.begin('2001:db8:1:2:ffff:ffff:ffff:ffff'), { retryAfterSeconds: 60 });
    assert.ok(!('retryAfterSeconds' in limiter.begin('2001:db8:1:3::1')), 'the next /64 is another client');
    clock.advance(WINDOW_MS);
    assert.ok(!('retryAfterSeconds' in limiter.begin('2001:db8:1:2::1')), 'a new window');
  });

  it('never holds more addresses than its bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30_000 })), { maxLength: 300 }), (bound, steps) => {
        const clock = fixedClock(0);
        const limiter = createAddressLimiter({ clock, limits: { windowMs: WINDOW_MS, limit: 3, maxAddresses: bound } });
        for (const [address, advance] of steps) {
          clock.advance(advance);
          limiter.failed(`10.0.0.${address}`);
          assert.ok(limiter.size() <= bound, `${limiter.size()} > ${bound}`);
        }
      }),
    );
  });

  it('keeps an address over its limit limited while any number of other addresses under their limit arrive, and while other limited ones leave at least one place free', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.array(fc.record({ other: fc.nat({ max: 5_000 }), limitIt: fc.boolean(), advance: fc.integer({ min: 0, max: 1_000 }) }), { maxLength: 200 }),
        (bound, arrivals) => {
          const clock = fixedClock(0);
          const limiter = createAddressLimiter({ clock, limits: { windowMs: WINDOW_MS, limit: LIMIT, maxAddresses: bound } });
          limitAddress(limiter, '192.0.2.1');
          const limitedOthers = new Set<string>();
          for (const { other, limitIt, advance } of arrivals) {
            // Within the limited address's window.
            if (clock.now() + advance < WINDOW_MS) clock.advance(advance);
            const address = `2001:db8:${other.toString(16)}::1`;
            if (limitIt && limitedOthers.size < bound - 2) {
              limitedOthers.add(address);
              limitAddress(limiter, address);
            } else if (!limitedOthers.has(address)) limiter.failed(address);
            assert.ok(limiter.retryAfter('192.0.2.1') > 0, `after ${address}`);
            assert.ok('retryAfterSeconds' in limiter.begin('::ffff:192.0.2.1'));
          }
        },
      ),
    );
  });

  it('when full of limited addresses, lets go of the oldest only', () => {
    const clock = fixedClock(0);
    const limiter = createAddressLimiter({ clock, limits: { windowMs: WINDOW_MS, limit: LIMIT, maxAddresses: 3 } });
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      limitAddress(limiter, address);
      clock.advance(1);
    }
    assert.equal(limiter.size(), 3);
    assert.equal(limiter.retryAfter('10.0.0.1'), 0);
    for (const address of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) assert.ok(limiter.retryAfter(address) > 0, address);
  });

  it('counts attempts in flight, gives back a released place and counts nothing twice', () => {
    const clock = fixedClock(0);
    const limiter = createAddressLimiter({ clock, limits: { windowMs: WINDOW_MS, limit: 2, maxAddresses: 10 } });
    const first = limiter.begin('10.0.0.9');
    const second = limiter.begin('10.0.0.9');
    assert.ok(!('retryAfterSeconds' in first) && !('retryAfterSeconds' in second));
    assert.ok('retryAfterSeconds' in limiter.begin('10.0.0.9'), 'two in flight fill the limit');
    first.released();
    first.failed();
    assert.equal(limiter.retryAfter('10.0.0.9'), 0);
    second.failed();
    const third = limiter.begin('10.0.0.9');
    assert.ok(!('retryAfterSeconds' in third));
    third.failed();
    assert.equal(limiter.retryAfter('10.0.0.9'), 60);
  });
});
