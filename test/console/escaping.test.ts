import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, html } from '../../src/console/html.js';
import { viewOfProperty } from '../../src/console/repository-view.js';

describe('console output escaping', () => {
  it('escapes every interpolated value, and only those', () => {
    const id = '<script>alert("x")</script>&\'';
    assert.equal(html`<td title="${id}">${id}</td>`.text, '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</td>');
    assert.equal(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.text, '<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>', 'nested templates stay markup, strings do not');
    assert.equal(html`${null}${undefined}${false}${0}`.text, '0');
    assert.equal(escapeHtml('a"b'), 'a&quot;b');
  });

  it('never turns key material, hashes or secrets into text', () => {
    const key = new Uint8Array(32).fill(7);
    assert.deepEqual(viewOfProperty('/etc/key', 'master', key), { kind: 'hidden', type: 'Binary', reason: 'key material: never shown' });
    assert.deepEqual(viewOfProperty('/etc/key', 'mac', key), { kind: 'hidden', type: 'Binary', reason: 'key material: never shown' });
    assert.equal(viewOfProperty('/etc/key', 'master', 'AAAA').kind, 'hidden', 'whatever its type');
    assert.deepEqual(viewOfProperty('/content/a', 'file', key), { kind: 'hidden', type: 'Binary', reason: 'binary, 32 bytes' });
    assert.equal(viewOfProperty('/home/users/a/alice', 'passwordHash', '$argon2id$v=19$...').kind, 'hidden');
    assert.equal(viewOfProperty('/home/users/a/alice/.tokens/x', 'tokenHash', 'ab12').kind, 'hidden');
    assert.equal(viewOfProperty('/conf/system/x', 'client.secret', 'plain?').kind, 'hidden');
    assert.deepEqual(viewOfProperty('/conf/system/x', 'other', '{cap1:0123456789abcdef:AAAA}'), {
      kind: 'hidden',
      type: 'String',
      reason: 'protected value, master key 0123456789abcdef',
    });
    assert.deepEqual(viewOfProperty('/content/a', 'title', 'Hello'), { kind: 'text', type: 'String', text: 'Hello' });
  });
});
