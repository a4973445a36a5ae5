/**
 * Connections declared by pg_service.conf name in the settings (`hydraMigrate.serviceConnections`):
 * each one not yet in the explorer is added at start (and when the setting changes), resolved
 * from the service file as libpq resolves it, with no password stored (it comes from .pgpass or
 * is asked for). The demo starts the workbench with both of its servers declared this way.
 */
import * as vscode from 'vscode';
import { ConnectionStringError, parseConnectionString } from '../core/connection.js';
import type { ConnectionStore } from './connectionStore.js';

export interface ServiceConnection {
  service: string;
  role: 'source' | 'target';
  name?: string;
}

export function serviceConnectionsSetting(): ServiceConnection[] {
  const raw = vscode.workspace.getConfiguration('hydraMigrate').get<unknown>('serviceConnections', []);
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (e): e is ServiceConnection =>
      !!e &&
      typeof e === 'object' &&
      typeof (e as ServiceConnection).service === 'string' &&
      ((e as ServiceConnection).role === 'source' || (e as ServiceConnection).role === 'target') &&
      ((e as ServiceConnection).name === undefined || typeof (e as ServiceConnection).name === 'string'),
  );
}

/** Adds the declared services that the store does not hold yet; returns the problems (one per entry that could not be resolved). */
export async function addServiceConnections(store: ConnectionStore, log: vscode.LogOutputChannel): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of serviceConnectionsSetting()) {
    if (store.list(entry.role).some((p) => p.service === entry.service)) continue;
    try {
      const { target } = parseConnectionString(`service=${entry.service}`);
      await store.add({ ...target, role: entry.role, name: store.uniqueName(entry.name ?? entry.service) }, undefined);
    } catch (err) {
      const message = err instanceof ConnectionStringError || err instanceof Error ? err.message : String(err);
      problems.push(message);
      log.warn(`hydraMigrate.serviceConnections: ${message}`);
    }
  }
  return problems;
}
