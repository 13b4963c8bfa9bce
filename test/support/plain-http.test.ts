import assert from 'node:assert/strict';
import { it } from 'node:test';
import { plainHttpWarning } from '../../src/support/plain-http.js';

it('warns for plain http to another machine only, naming its origin without a user, password or path', () => {
  assert.equal(
    plainHttpWarning("replication agent 'far'", 'http://replicator:pw-in-url@publish.example:4503/base?x=1'),
    "replication agent 'far' uses plain http to another machine (http://publish.example:4503): Capsule sends no credentials there in clear, so it will not work; use an https URL (plain http is for loopback addresses only)",
  );
  for (const fine of ['https://publish.example', 'http://127.0.0.1:4503', 'http://localhost:4503', 'http://[::1]:4503', 'not a url', '']) {
    assert.equal(plainHttpWarning('x', fine), null, fine);
  }
});
