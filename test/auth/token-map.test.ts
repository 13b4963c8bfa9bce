import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenMap } from '../../src/auth/token-map.js';

// The caches of verified and validated tokens find entries by a token's end (token-map.ts). These
// tests fail if a token that only shares that end with a kept one is found.
describe('TokenMap', () => {
  const end = 'Ymm5Gs5VH2F1rcH11bgMhp8krKm7_0xocjCu--aCP90';
  const kept = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${end}`;

  it('finds only the exact token it was given', () => {
    const map = new TokenMap<string>();
    map.set(kept, 'alice');
    assert.equal(map.get(kept), 'alice');
    assert.equal(map.get(`${kept}`.slice(0) + ''), 'alice', 'an equal string made elsewhere');
    assert.equal(map.get(`eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.${end}`), undefined, 'same signature, other claims');
    assert.equal(map.get(end), undefined, 'the end alone');
    assert.equal(map.get(`x${kept}`), undefined);
  });

  it('lets a token with the same end push the other out, and deletes only its own entry', () => {
    const map = new TokenMap<string>();
    const other = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.${end}`;
    map.set(kept, 'alice');
    map.set(other, 'bob');
    assert.equal(map.get(kept), undefined);
    assert.equal(map.get(other), 'bob');
    map.delete(kept);
    assert.equal(map.get(other), 'bob', 'deleting another token with the same end leaves this one');
    assert.equal(map.size, 1);
    map.delete(other);
    assert.equal(map.size, 0);
    map.set(kept, 'alice');
    map.clear();
    assert.equal(map.get(kept), undefined);
  });
});
