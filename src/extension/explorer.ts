/**
 * The Connections view: Source servers / Target servers -> connections -> databases -> schemas
 * -> tables. Children load lazily through the PoolCache; a failure becomes an error node that
 * carries the explained message. contextValues follow `hm:<kind>:<role>[:flags]`.
 */
import * as vscode from 'vscode';
import {
  formatBytes,
  formatCount,
  isNonHeap,
  listDatabases,
  listSchemas,
  listTables,
  type DatabaseInfo,
  type QueryFn,
  type SchemaInfo,
  type TableInfo,
} from '../core/catalog.js';
import { describeTarget, type ConnectionProfile, type ConnectionRole } from '../core/connection.js';
import { ConnectionError, PoolCache } from '../core/pg.js';
import type { ConnectionStore, Credentials } from './connectionStore.js';
import { connectionTooltip, type ConnectionStatus } from './connectionTooltip.js';
import { settings } from './settings.js';

export type ExplorerNode = GroupNode | ConnectionNode | DatabaseNode | SchemaNode | TableNode | MessageNode;

export interface GroupNode {
  kind: 'group';
  role: ConnectionRole;
}
export interface ConnectionNode {
  kind: 'connection';
  profile: ConnectionProfile;
}
export interface DatabaseNode {
  kind: 'database';
  profile: ConnectionProfile;
  database: DatabaseInfo;
}
export interface SchemaNode {
  kind: 'schema';
  profile: ConnectionProfile;
  database: string;
  schema: SchemaInfo;
}
export interface TableNode {
  kind: 'table';
  profile: ConnectionProfile;
  database: string;
  table: TableInfo;
}
export interface MessageNode {
  kind: 'message';
  parent: ExplorerNode;
  severity: 'error' | 'info';
  text: string;
  detail?: string;
  /** A problem code (auth_failed, refused, ...) for error nodes. */
  problem?: string;
}

export class ConnectionsExplorer implements vscode.TreeDataProvider<ExplorerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExplorerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly status = new Map<string, ConnectionStatus>();
  private readonly parents = new WeakMap<object, ExplorerNode>();
  private readonly groups: Record<ConnectionRole, GroupNode> = {
    source: { kind: 'group', role: 'source' },
    target: { kind: 'group', role: 'target' },
  };
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly store: ConnectionStore,
    private readonly pools: PoolCache,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = store.onDidChange(() => this.refresh());
  }

  refresh(node?: ExplorerNode): void {
    if (!node || node.kind === 'group') {
      this.changed.fire(undefined);
      return;
    }
    if (node.kind === 'connection') {
      // Fresh data means fresh connections: edited settings or passwords take effect now.
      this.status.delete(node.profile.id);
      void this.pools.closeConnection(node.profile.id).then(() => this.changed.fire(undefined));
      return;
    }
    this.changed.fire(node.kind === 'message' ? node.parent : node);
  }

  /** Forget cached sessions and status of a connection (after edit, password change, removal). */
  async reset(connectionId: string): Promise<void> {
    this.status.delete(connectionId);
    await this.pools.closeConnection(connectionId);
    this.changed.fire(undefined);
  }

  setStatus(connectionId: string, status: ConnectionStatus): void {
    this.status.set(connectionId, status);
  }

  /**
   * Records a connection's state and repaints its item when the state changed. Repainting reloads
   * its children, so an unchanged state must not fire again (a failing server would loop).
   */
  private markStatus(node: ConnectionNode, status: ConnectionStatus): void {
    const prev = this.status.get(node.profile.id);
    this.status.set(node.profile.id, status);
    const same = prev?.state === status.state && (prev.state !== 'error' || (status.state === 'error' && prev.message === status.message));
    // A first success needs no repaint (the item is being drawn); a first failure shows its red icon.
    if (!same && (prev !== undefined || status.state === 'error')) setTimeout(() => this.changed.fire(node), 0);
  }

  getParent(node: ExplorerNode): ExplorerNode | undefined {
    if (node.kind === 'group') return undefined;
    if (node.kind === 'connection') return this.groups[node.profile.role];
    if (node.kind === 'message') return node.parent;
    return this.parents.get(node);
  }

  async getChildren(node?: ExplorerNode): Promise<ExplorerNode[]> {
    // No connections at all: no items, so that VS Code shows the welcome content with its buttons.
    if (!node) return this.store.list().length === 0 ? [] : [this.groups.source, this.groups.target];
    switch (node.kind) {
      case 'group': {
        const list = this.store.list(node.role).sort((a, b) => a.name.localeCompare(b.name));
        return list.map((profile) => ({ kind: 'connection', profile }));
      }
      case 'connection':
        return this.load(
          node,
          node.profile,
          undefined,
          async (q) => {
            const dbs = await listDatabases(q);
            this.markStatus(node, { state: 'ok' });
            return dbs.map((database) => this.child(node, { kind: 'database', profile: node.profile, database }));
          },
          'No databases (or none this user may see).',
        );
      case 'database':
        if (!node.database.canConnect || !node.database.allowConnections) {
          return [
            {
              kind: 'message',
              parent: node,
              severity: 'info',
              text: node.database.allowConnections ? 'No CONNECT privilege on this database' : 'This database does not allow connections',
            },
          ];
        }
        return this.load(
          node,
          node.profile,
          node.database.name,
          async (q) =>
            (await listSchemas(q)).map((schema) =>
              this.child(node, { kind: 'schema', profile: node.profile, database: node.database.name, schema }),
            ),
          'No schemas.',
        );
      case 'schema':
        return this.load(
          node,
          node.profile,
          node.database,
          async (q) =>
            (await listTables(q, node.schema.name)).map((table) =>
              this.child(node, { kind: 'table', profile: node.profile, database: node.database, table }),
            ),
          'No tables in this schema.',
        );
      case 'table':
        // A partitioned table: its partitions beneath it.
        return (node.table.partitions ?? []).map((table) =>
          this.child(node, { kind: 'table', profile: node.profile, database: node.database, table }),
        );
      default:
        return [];
    }
  }

  private child<T extends ExplorerNode>(parent: ExplorerNode, node: T): T {
    this.parents.set(node, parent);
    return node;
  }

  private async load(
    parent: ExplorerNode,
    profile: ConnectionProfile,
    database: string | undefined,
    fetch: (q: QueryFn) => Promise<ExplorerNode[]>,
    emptyText: string,
  ): Promise<ExplorerNode[]> {
    const started = performance.now();
    try {
      const credentials = await this.store.credentials(profile);
      this.passwordFrom.set(profile.id, credentials);
      if (credentials.problem) throw new Error(credentials.problem);
      const password = credentials.password;
      const cfg = settings();
      const query: QueryFn = (text, values) =>
        this.pools.query(
          profile.id,
          profile,
          {
            password,
            database: database ?? profile.database,
            connectTimeoutSeconds: cfg.connectTimeoutSeconds,
            statementTimeoutMs: cfg.queryTimeoutSeconds * 1000,
          },
          text,
          values,
        );
      const children = await fetch(query);
      this.log.debug(
        `Listed ${children.length} item(s) of ${describeTarget(profile, database)} in ${Math.round(performance.now() - started)} ms.`,
      );
      return children.length > 0 ? children : [{ kind: 'message', parent, severity: 'info', text: emptyText }];
    } catch (err) {
      const explained = err instanceof ConnectionError ? err.explained : undefined;
      const text = explained ? explained.message : err instanceof Error ? err.message : String(err);
      this.log.error(
        `Could not list ${describeTarget(profile, database)}: ${explained ? `${explained.message} (${explained.detail})` : text}`,
      );
      if (parent.kind === 'connection') this.markStatus(parent, { state: 'error', message: text });
      const node: MessageNode = { kind: 'message', parent, severity: 'error', text };
      if (explained) {
        node.detail = explained.hint;
        node.problem = explained.problem;
      }
      return [node];
    }
  }

  /** Where each connection's password came from, as last used (shown in its tooltip). */
  private readonly passwordFrom = new Map<string, Credentials>();

  getTreeItem(node: ExplorerNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const item = new vscode.TreeItem(
          node.role === 'source' ? vscode.l10n.t('Source servers') : vscode.l10n.t('Target servers'),
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `group:${node.role}`;
        item.contextValue = `hm:group:${node.role}`;
        item.iconPath = new vscode.ThemeIcon(node.role === 'source' ? 'arrow-circle-up' : 'arrow-circle-down');
        const count = this.store.list(node.role).length;
        item.description = count === 0 ? vscode.l10n.t('none yet') : String(count);
        return item;
      }
      case 'connection': {
        const p = node.profile;
        const item = new vscode.TreeItem(p.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `connection:${p.id}`;
        const st = this.status.get(p.id);
        item.description = describeTarget(p);
        const flags = st ? (st.state === 'ok' ? ':ok' : ':error') : '';
        item.contextValue = `hm:connection:${p.role}${flags}`;
        item.iconPath =
          st?.state === 'error'
            ? new vscode.ThemeIcon('server', new vscode.ThemeColor('list.errorForeground'))
            : new vscode.ThemeIcon('server', st?.state === 'ok' ? new vscode.ThemeColor('testing.iconPassed') : undefined);
        const md = connectionTooltip(p, st, this.passwordFrom.get(p.id));
        item.tooltip = md;
        return item;
      }
      case 'database': {
        const d = node.database;
        const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `database:${node.profile.id}:${d.name}`;
        item.contextValue = `hm:database:${node.profile.role}${d.canConnect ? '' : ':noconnect'}`;
        item.iconPath = new vscode.ThemeIcon('database');
        item.description = [d.sizeBytes !== undefined ? formatBytes(d.sizeBytes) : undefined, d.encoding, d.collate]
          .filter(Boolean)
          .join(' · ');
        item.accessibilityInformation = { label: `${d.name}, database, ${item.description}` };
        item.tooltip = `${d.name}\nsize: ${d.sizeBytes !== undefined ? formatBytes(d.sizeBytes) : 'unknown (no CONNECT privilege)'}\nencoding: ${d.encoding}\nLC_COLLATE: ${d.collate}\nLC_CTYPE: ${d.ctype}`;
        return item;
      }
      case 'schema': {
        const s = node.schema;
        const item = new vscode.TreeItem(
          s.name,
          s.tableCount > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `schema:${node.profile.id}:${node.database}:${s.name}`;
        item.contextValue = `hm:schema:${node.profile.role}`;
        item.iconPath = new vscode.ThemeIcon('symbol-namespace');
        item.description = s.tableCount === 1 ? vscode.l10n.t('1 table') : vscode.l10n.t('{0} tables', s.tableCount);
        item.accessibilityInformation = { label: `${s.name}, schema, ${item.description}` };
        item.tooltip = `${s.name}\nowner: ${s.owner}\ntables and materialized views: ${s.tableCount}`;
        return item;
      }
      case 'table': {
        const t = node.table;
        const item = new vscode.TreeItem(
          t.name,
          t.partitions?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `table:${node.profile.id}:${node.database}:${t.schema}:${t.name}`;
        const columnar = isNonHeap(t);
        item.contextValue = `hm:table:${node.profile.role}:${t.accessMethod ?? 'none'}`;
        item.iconPath = columnar
          ? new vscode.ThemeIcon('split-horizontal', new vscode.ThemeColor('charts.purple'))
          : new vscode.ThemeIcon(t.kind === 'materialized view' ? 'eye' : t.kind === 'partitioned table' ? 'layers' : 'table');
        const rows =
          t.estimatedRows !== undefined
            ? `~${formatCount(t.estimatedRows)} ${t.estimatedRows === 1 ? 'row' : 'rows'}`
            : t.kind === 'partitioned table'
              ? 'partitioned'
              : 'not analyzed';
        item.description = [
          columnar ? `[${t.accessMethod}]` : undefined,
          rows,
          formatBytes(t.sizeBytes),
          t.partitions?.length ? `${t.partitions.length} partition${t.partitions.length === 1 ? '' : 's'}` : undefined,
          t.kind !== 'table' && t.kind !== 'partitioned table' && t.kind !== 'partition' ? t.kind : undefined,
          t.unlogged ? 'unlogged' : undefined,
        ]
          .filter(Boolean)
          .join(' · ');
        const estimate =
          t.estimatedRows !== undefined
            ? t.estimatedRows.toLocaleString('en-US')
            : t.kind === 'partitioned table'
              ? 'see the partitions'
              : 'unknown (never analyzed)';
        item.tooltip = `${t.schema}.${t.name} (${t.kind}${t.unlogged ? ', unlogged' : ''})\naccess method: ${t.accessMethod ?? '—'}\nestimated rows: ${estimate}\ntotal size: ${formatBytes(t.sizeBytes)}${t.partitions?.length ? ` (with its ${t.partitions.length} partition(s))` : ''}`;
        item.accessibilityInformation = { label: `${t.name}, ${columnar ? `${t.accessMethod} ` : ''}${t.kind}, ${item.description}` };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.contextValue = node.severity === 'error' ? `hm:error${node.problem ? `:${node.problem}` : ''}` : 'hm:info';
        item.iconPath = new vscode.ThemeIcon(
          node.severity === 'error' ? 'error' : 'info',
          node.severity === 'error' ? new vscode.ThemeColor('list.errorForeground') : undefined,
        );
        if (node.detail) item.tooltip = `${node.text}\n${node.detail}`;
        if (node.detail) item.description = node.detail;
        if (node.severity === 'error') {
          item.command = { command: 'hydraMigrate.refreshNode', title: vscode.l10n.t('Retry'), arguments: [node.parent] };
        }
        return item;
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** The connection a node belongs to, if any. */
export function profileOf(node: ExplorerNode | undefined): ConnectionProfile | undefined {
  if (!node) return undefined;
  if (node.kind === 'group') return undefined;
  if (node.kind === 'message') return profileOf(node.parent);
  return node.profile;
}

/** The database a node points at (a connection points at its profile's database). */
export function databaseOf(node: ExplorerNode | undefined): string | undefined {
  if (!node) return undefined;
  switch (node.kind) {
    case 'connection':
      return node.profile.database;
    case 'database':
      return node.database.name;
    case 'schema':
    case 'table':
      return node.database;
    case 'message':
      return databaseOf(node.parent);
    default:
      return undefined;
  }
}
