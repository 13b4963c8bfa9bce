import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

interface View {
  pid: string;
  title: string | null;
  stored: boolean;
  values: Record<string, unknown>;
}

describe('capsule config', () => {
  let home: string;
  before(async () => {
    home = join(tempDir(), 'home');
    await (await openServices({ home, create: true, clock: systemClock })).close();
  });

  it('lists registered components with their defaults', async () => {
    const views = jsonOf<View[]>(await runCliInProcess(['config', 'list', '--json', '--home', home]));
    const token = views.find((v) => v.pid === 'capsule.auth.token');
    assert.equal(token?.title, 'Token Authentication Handler');
    assert.equal(token?.stored, false);
    assert.equal(token?.values['token.expiration'], 43_200_000);
    assert.equal(token?.values['token.encapsulated'], false);
  });

  it('sets typed values, gets them back, and deletes them', async () => {
    const set = await runCliInProcess(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', 'token.expiration=600000', '--home', home]);
    assert.equal(set.code, 0, set.stderr);
    const view = jsonOf<View>(await runCliInProcess(['config', 'get', 'capsule.auth.token', '--json', '--home', home]));
    assert.equal(view.stored, true);
    assert.equal(view.values['token.encapsulated'], true);
    assert.equal(view.values['token.expiration'], 600_000);
    const text = await runCliInProcess(['config', 'get', 'capsule.auth.token', '--home', home]);
    assert.match(text.stdout, /token\.encapsulated = true/);
    assert.equal((await runCliInProcess(['config', 'delete', 'capsule.auth.token', '--home', home])).code, 0);
    const after = jsonOf<View>(await runCliInProcess(['config', 'get', 'capsule.auth.token', '--json', '--home', home]));
    assert.equal(after.values['token.encapsulated'], false);
  });

  it('refuses a PID no component has (naming the nearest one) unless --force, which stores it as given', async () => {
    const typo = await runCliInProcess(['config', 'set', 'capsule.auth.tokn', 'token.encapsulated=true', '--home', home]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, "capsule: no component has the PID capsule.auth.tokn (did you mean capsule.auth.token?); 'capsule config list' shows them, or add --force to store it anyway\n");
    assert.equal((await runCliInProcess(['config', 'get', 'capsule.auth.tokn', '--home', home])).code, 2, 'nothing was stored');
    assert.equal((await runCliInProcess(['config', 'set', 'org.example.thing', 'colour=blue', '--home', home])).code, 2);
    assert.equal((await runCliInProcess(['config', 'set', 'org.example.thing', 'colour=blue', '--force', '--home', home])).code, 0);
    const view = jsonOf<View>(await runCliInProcess(['config', 'get', 'org.example.thing', '--json', '--home', home]));
    assert.deepEqual(view.values, { colour: 'blue' });
  });

  it('refuses values that fail the schema with exit 2 and changes nothing', async () => {
    const before = (await runCliInProcess(['config', 'get', 'capsule.auth.token', '--json', '--home', home])).stdout;
    const cases: Array<[string[], RegExp]> = [
      [['config', 'set', 'capsule.auth.token', 'token.expiration=soon'], /token\.expiration/],
      [['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', 'token.expiration=5'], /token\.expiration/],
      [['config', 'set', 'capsule.auth.token', 'token.cookie.samesite=Sometimes'], /token\.cookie\.samesite/],
      [['config', 'set', 'capsule.auth.token', 'token.typo=1'], /unknown property 'token\.typo'/],
      [['config', 'set', 'capsule.auth.token', 'novalue'], /not key=value/],
      [['config', 'set', 'bad pid', 'a=b'], /is not a PID/],
      [['config', 'get', 'org.example.absent'], /no configuration org\.example\.absent/],
      [['config', 'delete', 'org.example.absent'], /nothing to delete/],
    ];
    for (const [args, message] of cases) {
      const result = await runCliInProcess([...args, '--home', home]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.equal((await runCliInProcess(['config', 'get', 'capsule.auth.token', '--json', '--home', home])).stdout, before);
  });
});

describe('capsule --help', () => {
  it('explains every command and exits 0', async () => {
    const commands = [
      [],
      ['start'],
      ['users'],
      ['users', 'add'],
      ['users', 'list'],
      ['users', 'remove'],
      ['users', 'passwd'],
      ['users', 'disable'],
      ['users', 'enable'],
      ['groups'],
      ['groups', 'add'],
      ['groups', 'add-member'],
      ['groups', 'remove-member'],
      ['groups', 'list'],
      ['config'],
      ['config', 'list'],
      ['config', 'get'],
      ['config', 'set'],
      ['config', 'delete'],
    ];
    const results = await Promise.all(commands.map((command) => runCliInProcess([...command, '--help'])));
    results.forEach((result, index) => {
      const name = commands[index]!.join(' ');
      assert.equal(result.code, 0, name);
      assert.match(result.stdout, /^Usage: capsule/, name);
      if (index > 0 && commands[index]!.length === 2) assert.match(result.stdout, /--home <dir>/, name);
    });
  });
});
