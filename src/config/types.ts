import type { ComponentDefinition, ConfigValue, ConfigValues } from './schema.js';

/** What the configuration admin needs from crypto support to keep secret properties protected. */
export interface SecretProtector {
  protect(plain: string): string;
  isProtected(value: string): boolean;
}

export interface StoredConfiguration {
  readonly pid: string;
  readonly values: ConfigValues;
}

/** Called with the PID and its new values (null when the configuration was deleted). */
export type ConfigListener = (pid: string, values: ConfigValues | null) => void;

export interface ConfigAdmin {
  register(component: ComponentDefinition): void;
  components(): readonly ComponentDefinition[];
  /** The component that configures `pid` (for `factory~name`, the factory's). */
  componentOf(pid: string): ComponentDefinition | undefined;
  /** Loads every stored configuration into memory; call once before `current`. */
  load(): Promise<void>;
  /**
   * Defaults merged with stored values, from memory: cheap enough for a hot path. Values are as
   * stored: a secret stays protected or a reference (`revealSecret` gives it in clear).
   */
  current(pid: string): ConfigValues;
  /** Stored values only, or null. */
  stored(pid: string): ConfigValues | null;
  list(): readonly StoredConfiguration[];
  /** Validates and stores `changes` over the stored values (`null` removes a property). */
  update(pid: string, changes: Readonly<Record<string, ConfigValue | null>>): Promise<ConfigValues>;
  /** Like `update`, with values given as text (`key=value` on a command line, form fields). */
  updateFromText(pid: string, changes: Readonly<Record<string, string>>): Promise<ConfigValues>;
  delete(pid: string): Promise<boolean>;
  /** Listens to one PID, to every `factory~*` of a factory PID, or to '*'. */
  onChange(pid: string, listener: ConfigListener): () => void;
  /** Re-reads the repository (after another process changed it) and tells listeners what changed. */
  refresh(): Promise<string[]>;
}

export type { ConfigValue, ConfigValues };
