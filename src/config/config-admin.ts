import { CapsuleError } from '../errors.js';
import type { PropertyValue, Repository } from '../repository/index.js';
import { parseText, type ComponentDefinition, type ConfigValue, type ConfigValues } from './schema.js';
import type { ConfigAdmin, ConfigListener, SecretProtector, StoredConfiguration } from './types.js';
import { acceptsReferences, forbiddenReason, isPartialReference, referencesIn, wholeReference } from './references.js';

export const CONFIG_ROOT = '/conf/system';
export const CONFIG_TYPE = 'capsule:Configuration';
/** Bumped by every configuration write, so running instances notice the CLI's changes. */
export const CONFIG_COUNTER = 'config';

const PID_PATTERN = /^[A-Za-z0-9_.-]+(~[A-Za-z0-9_.-]+)?$/;
const KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;

export interface ConfigAdminDeps {
  readonly repo: Repository;
  /** Needed as soon as a component declares a secret property. */
  readonly protector?: SecretProtector;
  /** Where CAPSULE_REFERENCE_PREFIX is read, to refuse a reference that may not be resolved (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export function checkPid(pid: string): string {
  if (typeof pid !== 'string' || !PID_PATTERN.test(pid)) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `'${pid}' is not a PID: use letters, digits, '.', '_' and '-', and 'factory~name' for a factory configuration`,
    );
  }
  return pid;
}

function factoryOf(pid: string): string {
  const tilde = pid.indexOf('~');
  return tilde < 0 ? pid : pid.slice(0, tilde);
}

function sameValues(a: ConfigValues | null | undefined, b: ConfigValues | null | undefined): boolean {
  const canonical = (values: ConfigValues | null | undefined) =>
    values ? JSON.stringify(Object.entries(values).sort(([x], [y]) => (x < y ? -1 : 1))) : 'null';
  return canonical(a) === canonical(b);
}

function toConfigValues(properties: Readonly<Record<string, PropertyValue>>): ConfigValues {
  const values: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || Array.isArray(value)) {
      values[key] = value as ConfigValue;
    }
  }
  return values;
}

export function createConfigAdmin({ repo, protector, env = process.env }: ConfigAdminDeps): ConfigAdmin {
  const registry = new Map<string, ComponentDefinition>();
  let stored = new Map<string, ConfigValues>();
  const listeners = new Map<string, Set<ConfigListener>>();

  function componentOf(pid: string): ComponentDefinition | undefined {
    return registry.get(factoryOf(pid));
  }

  function notify(pid: string, values: ConfigValues | null): void {
    for (const key of new Set([pid, factoryOf(pid), '*'])) {
      for (const listener of listeners.get(key) ?? []) listener(pid, values);
    }
  }

  function withDefaults(component: ComponentDefinition | undefined, values: ConfigValues | null): ConfigValues {
    const merged: Record<string, ConfigValue> = {};
    for (const [key, definition] of Object.entries(component?.properties ?? {})) {
      if (definition.default !== undefined) merged[key] = definition.default;
    }
    return { ...merged, ...(values ?? {}) };
  }

  function checkShape(pid: string, component: ComponentDefinition | undefined): void {
    checkPid(pid);
    if (!component) return;
    const isFactoryPid = pid.includes('~');
    if (component.factory && !isFactoryPid) {
      throw new CapsuleError('INVALID_ARGUMENT', `${pid} is a factory configuration: name one, as ${pid}~NAME`);
    }
    if (!component.factory && isFactoryPid) {
      throw new CapsuleError('INVALID_ARGUMENT', `${factoryOf(pid)} is not a factory configuration: use ${factoryOf(pid)}`);
    }
  }

  /**
   * A reference written where it would not be resolved would be shown as written, or worse,
   * resolved by an older reader: refused. Only the values being written are checked, so a value
   * stored before this rule (taken literally now) does not block changes to the others.
   */
  function checkReferences(pid: string, component: ComponentDefinition | undefined, key: string, value: ConfigValue): void {
    const definition = component?.properties[key];
    if (acceptsReferences(definition)) return;
    const [reference] = referencesIn(value);
    if (reference === undefined) return;
    const secrets = Object.entries(component?.properties ?? {}).filter(([, each]) => acceptsReferences(each)).map(([name]) => name);
    throw new CapsuleError(
      'INVALID_CONFIG',
      `${pid}: ${key}: does not accept a reference such as ${reference.text}; only secret properties resolve references (${secrets.length > 0 ? `here: ${secrets.join(', ')}` : `${pid} has none`}); write the value itself`,
    );
  }

  /**
   * A secret is a reference only as its whole value, and only to what may be resolved: anything
   * else would be stored in clear and listed as a reference (`S3cr3t-$[env:HOME]`), or send one of
   * Capsule's own variables to whoever configured the endpoint. The message never holds the value.
   */
  function checkSecretReference(pid: string, key: string, text: string): void {
    if (isPartialReference(text)) {
      throw new CapsuleError(
        'INVALID_CONFIG',
        `${pid}: ${key}: a reference must be the whole value, $[env:NAME] or $[secret:NAME] (NAME: letters, digits, '_', '.', '-'); this value has reference syntax with other text: write the secret itself or only the reference`,
      );
    }
    const reference = wholeReference(text);
    const forbidden = reference === null ? null : forbiddenReason(reference, env);
    if (forbidden !== null) throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} references ${reference!.text}, ${forbidden}; nothing was stored`);
  }

  /** Validates the merged values and protects secrets; returns what is to be stored. */
  function validate(pid: string, component: ComponentDefinition | undefined, values: ConfigValues, written: ReadonlySet<string>): ConfigValues {
    const result: Record<string, ConfigValue> = {};
    for (const [key, value] of Object.entries(values)) {
      if (!KEY_PATTERN.test(key)) {
        throw new CapsuleError('INVALID_CONFIG', `${pid}: '${key}' is not a property name (letters, digits, '.', '_', '-')`);
      }
      if (written.has(key)) checkReferences(pid, component, key, value);
      if (!component) {
        result[key] = value;
        continue;
      }
      const definition = component.properties[key];
      if (!definition) {
        const known = Object.keys(component.properties).join(', ');
        throw new CapsuleError('INVALID_CONFIG', `${pid}: unknown property '${key}' (known: ${known})`);
      }
      const parsed = definition.schema.safeParse(value);
      if (!parsed.success) {
        const reason = parsed.error.issues[0]?.message ?? 'invalid value';
        throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key}: ${reason}`);
      }
      if (definition.kind === 'secret') {
        if (!protector) {
          throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} is a secret and this instance has no crypto support`);
        }
        const text = parsed.data as string;
        if (written.has(key)) checkSecretReference(pid, key, text);
        // A reference ($[secret:NAME]) is no secret: kept as written, resolved when the secret is used.
        // One stored by an older version inside other text is kept too (never resolved, its use fails).
        result[key] = protector.isProtected(text) || wholeReference(text) !== null || isPartialReference(text) ? text : protector.protect(text);
      } else {
        result[key] = parsed.data;
      }
    }
    for (const [key, definition] of Object.entries(component?.properties ?? {})) {
      if (definition.required && result[key] === undefined && definition.default === undefined) {
        throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} is required (${definition.title})`);
      }
    }
    return result;
  }

  async function readAll(): Promise<Map<string, ConfigValues>> {
    // A repository that is away fails the read: an empty map would look like "every configuration deleted".
    const nodes = await repo.getChildren(CONFIG_ROOT);
    return new Map(nodes.filter((node) => node.type === CONFIG_TYPE).map((node) => [node.name, toConfigValues(node.properties)]));
  }

  const admin: ConfigAdmin = {
    register(component) {
      registry.set(component.pid, component);
    },
    components: () => [...registry.values()],
    componentOf,

    async load() {
      stored = await readAll();
    },

    current(pid) {
      return withDefaults(componentOf(pid), stored.get(pid) ?? null);
    },

    stored: (pid) => stored.get(pid) ?? null,

    list: (): StoredConfiguration[] =>
      [...stored.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([pid, values]) => ({ pid, values })),

    async update(pid, changes) {
      const component = componentOf(pid);
      checkShape(pid, component);
      const path = `${CONFIG_ROOT}/${pid}`;
      // Read-then-write in one transaction: under the repository's contract (serializable, `work`
      // may run again) another process's change to the same PID is merged, never lost.
      const values = await repo.transaction(async (tx) => {
        const node = await tx.getNode(path);
        const before = node ? toConfigValues(node.properties) : {};
        const merged: Record<string, ConfigValue> = { ...before };
        const written = new Set<string>();
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
          if (value !== null && JSON.stringify(value) !== JSON.stringify(before[key])) written.add(key);
        }
        const next = validate(pid, component, merged, written);
        if (node) {
          const removals = Object.fromEntries(
            Object.keys(node.properties).filter((key) => !(key in next)).map((key) => [key, null]),
          );
          await tx.setProperties(path, { ...removals, ...next });
        } else {
          await tx.addNode(path, { type: CONFIG_TYPE, properties: next });
        }
        await tx.bumpCounter(CONFIG_COUNTER);
        return next;
      });
      // Another instance may have written after us and our refresh may already hold its values:
      // cache what the repository holds now, never what this call wrote a moment ago.
      const latest = await repo.getNode(path);
      const now = latest ? toConfigValues(latest.properties) : null;
      const changed = !sameValues(stored.get(pid), now);
      if (now) stored.set(pid, now);
      else stored.delete(pid);
      if (changed) notify(pid, now);
      return values;
    },

    updateFromText(pid, changes) {
      const component = componentOf(pid);
      const typed: Record<string, ConfigValue> = {};
      for (const [key, text] of Object.entries(changes)) typed[key] = parseText(component?.properties[key], text);
      return admin.update(pid, typed);
    },

    async delete(pid) {
      checkPid(pid);
      const removed = await repo.transaction(async (tx) => {
        const gone = await tx.removeNode(`${CONFIG_ROOT}/${pid}`);
        if (gone) await tx.bumpCounter(CONFIG_COUNTER);
        return gone;
      });
      const latest = await repo.getNode(`${CONFIG_ROOT}/${pid}`);
      const had = stored.has(pid);
      if (latest) stored.set(pid, toConfigValues(latest.properties));
      else stored.delete(pid);
      if ((removed || had) && !latest) notify(pid, null);
      return removed;
    },

    onChange(pid, listener) {
      const set = listeners.get(pid) ?? new Set();
      set.add(listener);
      listeners.set(pid, set);
      return () => set.delete(listener);
    },

    async refresh() {
      const next = await readAll();
      const previous = stored;
      stored = next;
      const changed = [...new Set([...previous.keys(), ...next.keys()])].filter(
        (pid) => !sameValues(previous.get(pid), next.get(pid)),
      );
      for (const pid of changed) notify(pid, next.get(pid) ?? null);
      return changed;
    },
  };
  return admin;
}
