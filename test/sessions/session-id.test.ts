import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSessionId, newSessionId } from '../../src/sessions/index.js';

describe('session ids', () => {
  it('are 22 base64url characters and never begin with "-" (a command line would take it for an option)', () => {
    const ids = Array.from({ length: 5000 }, () => newSessionId());
    for (const id of ids) {
      assert.ok(isSessionId(id), id);
      assert.notEqual(id[0], '-', `${id} begins with '-'`);
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(isSessionId('-n7rhxhw5p4YOlZOCXc4cg'), 'an id of that shape made before is still one');
  });
});
