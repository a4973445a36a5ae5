/**
 * Connection profiles (metadata in globalState) and their passwords (SecretStorage only: the OS
 * keychain on desktop VS Code, the browser's encrypted storage in code-server). Nothing here logs
 * a password or puts one anywhere but context.secrets.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { pgpassPassword } from '../core/libpqFiles.js';
import { SSL_MODES, type ConnectionProfile, type ConnectionRole } from '../core/connection.js';

/** The globalState key of the profiles (metadata only): the one key Settings Sync may carry. */
export const STATE_KEY = 'hydraMigrate.connections';
const SECRET_PREFIX = 'hydraMigrate.password.';

export interface Credentials {
  from: 'keychain' | 'pgpass' | 'none';
  password?: string;
  /** The password file used (from: pgpass), or the one refused (problem). */
  passfile?: string;
  /** Why the password file was not used (others may read it). */
  problem?: string;
}

interface StoredState {
  version: 1;
  connections: unknown[];
}

function isProfile(value: unknown): value is ConnectionProfile {
  if (!value || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.id === 'string' &&
    typeof p.name === 'string' &&
    (p.role === 'source' || p.role === 'target') &&
    typeof p.host === 'string' &&
    typeof p.port === 'number' &&
    typeof p.database === 'string' &&
    typeof p.user === 'string' &&
    typeof p.sslmode === 'string' &&
    (SSL_MODES as readonly string[]).includes(p.sslmode) &&
    (p.sslrootcert === undefined || typeof p.sslrootcert === 'string') &&
    (p.channelBinding === undefined || p.channelBinding === 'require' || p.channelBinding === 'prefer' || p.channelBinding === 'disable') &&
    (p.service === undefined || typeof p.service === 'string')
  );
}

export class ConnectionStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    private readonly state: vscode.Memento,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // Another window may change a password: tell the explorer so it reconnects.
    this.disposables.push(
      secrets.onDidChange((e) => {
        if (e.key.startsWith(SECRET_PREFIX)) this.changed.fire();
      }),
    );
  }

  private read(): { valid: ConnectionProfile[]; raw: unknown[] } {
    const stored = this.state.get<StoredState>(STATE_KEY);
    const raw = stored && Array.isArray(stored.connections) ? stored.connections : [];
    const valid = raw.filter(isProfile);
    if (valid.length !== raw.length) {
      this.log.warn(`${raw.length - valid.length} stored connection(s) could not be read and are hidden; they are kept unchanged.`);
    }
    return { valid, raw };
  }

  private async write(update: (list: ConnectionProfile[]) => ConnectionProfile[]): Promise<void> {
    const { valid, raw } = this.read();
    const unreadable = raw.filter((r) => !isProfile(r));
    const next = update(valid).map(stripUnknownFields);
    const state: StoredState = { version: 1, connections: [...next, ...unreadable] };
    await this.state.update(STATE_KEY, state);
    this.changed.fire();
  }

  list(role?: ConnectionRole): ConnectionProfile[] {
    const all = this.read().valid;
    return role ? all.filter((c) => c.role === role) : all;
  }

  get(id: string): ConnectionProfile | undefined {
    return this.read().valid.find((c) => c.id === id);
  }

  /** A name not used yet among the connections ("name", "name (2)", ...). */
  uniqueName(base: string, exceptId?: string): string {
    const taken = new Set(
      this.list()
        .filter((c) => c.id !== exceptId)
        .map((c) => c.name),
    );
    if (!taken.has(base)) return base;
    for (let i = 2; ; i++) {
      const candidate = `${base} (${i})`;
      if (!taken.has(candidate)) return candidate;
    }
  }

  async add(profile: Omit<ConnectionProfile, 'id'>, password: string | undefined): Promise<ConnectionProfile> {
    const created: ConnectionProfile = { ...profile, id: randomUUID() };
    // The secret first: a profile must never exist whose password was silently dropped.
    if (password !== undefined && password !== '') await this.secrets.store(SECRET_PREFIX + created.id, password);
    await this.write((list) => [...list, created]);
    this.log.info(
      `Added ${created.role} connection "${created.name}" (${created.user}@${created.host}:${created.port}/${created.database}).`,
    );
    return created;
  }

  /** Replaces a profile's fields. password: a string sets it, null deletes it, undefined keeps it. */
  async update(profile: ConnectionProfile, password?: string | null): Promise<void> {
    if (!this.get(profile.id)) throw new Error(`The connection "${profile.name}" no longer exists.`);
    if (typeof password === 'string' && password !== '') await this.secrets.store(SECRET_PREFIX + profile.id, password);
    if (password === null) await this.secrets.delete(SECRET_PREFIX + profile.id);
    await this.write((list) => list.map((c) => (c.id === profile.id ? profile : c)));
    this.log.info(`Updated connection "${profile.name}".`);
  }

  async remove(id: string): Promise<void> {
    const existing = this.get(id);
    await this.write((list) => list.filter((c) => c.id !== id));
    await this.secrets.delete(SECRET_PREFIX + id);
    if (existing) this.log.info(`Removed connection "${existing.name}" and its stored password.`);
  }

  async getPassword(id: string): Promise<string | undefined> {
    return this.secrets.get(SECRET_PREFIX + id);
  }

  /**
   * Where a connection's password comes from, in libpq's order after the keychain: SecretStorage,
   * else the libpq password file (PGPASSFILE or ~/.pgpass, never copied into SecretStorage), else
   * none. A password file that others may read gives `problem` (libpq ignores it) and no password.
   */
  async credentials(profile: ConnectionProfile): Promise<Credentials> {
    const stored = await this.getPassword(profile.id);
    if (stored !== undefined) return { from: 'keychain', password: stored };
    const found = pgpassPassword({ host: profile.host, port: profile.port, database: profile.database, user: profile.user });
    if (!found) return { from: 'none' };
    if ('error' in found) return { from: 'none', problem: found.error, passfile: found.file };
    return { from: 'pgpass', password: found.password, passfile: found.file };
  }

  async hasPassword(id: string): Promise<boolean> {
    return (await this.getPassword(id)) !== undefined;
  }

  async setPassword(id: string, password: string | undefined): Promise<void> {
    if (password === undefined || password === '') await this.secrets.delete(SECRET_PREFIX + id);
    else await this.secrets.store(SECRET_PREFIX + id, password);
    this.changed.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function stripUnknownFields(p: ConnectionProfile): ConnectionProfile {
  const out: ConnectionProfile = {
    id: p.id,
    name: p.name,
    role: p.role,
    host: p.host,
    port: p.port,
    database: p.database,
    user: p.user,
    sslmode: p.sslmode,
  };
  if (p.sslrootcert) out.sslrootcert = p.sslrootcert;
  if (p.channelBinding) out.channelBinding = p.channelBinding;
  if (p.service) out.service = p.service;
  return out;
}

export const secretKeyFor = (id: string): string => SECRET_PREFIX + id;
