/**
 * Messages between the extension host and the validation webview. Discriminated unions only; the
 * webview says `ready` before the host posts data; requests (the user's actions) carry an id and
 * are answered with a `done` message of the same id. Anything that arrives passes a runtime guard
 * first: a webview is a separate origin and its messages are untrusted input.
 */
import type { ValidationReport } from './report.js';

export type ExportFormat = 'json' | 'csv' | 'markdown';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'csv', 'markdown'];

/** The user's actions in the view; each is answered by `done` with the same id. */
export type WebviewRequest =
  | { type: 'rerun'; id: number; checksums: boolean }
  | { type: 'recheckTable'; id: number; schema: string; name: string }
  | { type: 'export'; id: number; format: ExportFormat }
  | { type: 'copyCountQuery'; id: number; schema: string; name: string }
  /** Raise the target's sequences that are behind to the source's values (never lowers one). */
  | { type: 'syncSequences'; id: number };

export type WebviewToHost =
  | { type: 'ready' }
  | WebviewRequest
  /** What the view shows after a render: diagnostics the host keeps (and automation reads). */
  | RenderedMessage;

export interface RenderedMessage {
  type: 'rendered';
  rows: number;
  totalRows: number;
  summary: string;
  tab: 'tables' | 'objects';
}

export type HostToWebview =
  | { type: 'running'; title: string; checksums: boolean }
  | { type: 'progress'; done: number; total: number }
  /** `savedAt`: a saved report shown again (after a reload), not a fresh validation. */
  | { type: 'report'; title: string; report: ValidationReport; savedAt?: string }
  | { type: 'error'; title: string; message: string }
  | { type: 'done'; id: number; ok: boolean; message: string };

/** What the webview keeps with getState/setState: UI state and what to validate again after a reload. */
export interface ValidationViewState {
  args?: ValidationArgs;
  sort?: { column: string; descending: boolean };
  filter?: 'differences' | 'all';
  /** The user picked the filter (otherwise it follows the report: differences when there are any). */
  filterChosen?: boolean;
  search?: string;
  tab?: 'tables' | 'objects';
  /** The grid: columns the user resized (px), the focused row, the table whose detail is open, the scroll position. */
  widths?: Record<string, number>;
  focus?: number;
  expanded?: string;
  scrollTop?: number;
}

export interface ValidationArgs {
  sourceConnectionId: string;
  sourceDatabase: string;
  targetConnectionId: string;
  targetDatabase: string;
  checksums?: boolean;
  schemas?: string[];
}

/** For the `default` of an exhaustive switch: a new message type that is not handled is a type error. */
export function assertNever(value: never): never {
  throw new Error(`unexpected message ${JSON.stringify(value)}`);
}

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = 1000): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isId = (v: unknown): v is number => isCount(v) && v <= Number.MAX_SAFE_INTEGER;

/** The message if it is a well-formed WebviewToHost, otherwise undefined. */
export function parseWebviewMessage(v: unknown): WebviewToHost | undefined {
  if (!isObject(v)) return undefined;
  switch (v.type) {
    case 'ready':
      return { type: 'ready' };
    case 'rerun':
      return isId(v.id) && typeof v.checksums === 'boolean' ? { type: 'rerun', id: v.id, checksums: v.checksums } : undefined;
    case 'recheckTable':
    case 'copyCountQuery':
      return isId(v.id) && isText(v.schema, 200) && isText(v.name, 200)
        ? { type: v.type, id: v.id, schema: v.schema, name: v.name }
        : undefined;
    case 'syncSequences':
      return isId(v.id) ? { type: 'syncSequences', id: v.id } : undefined;
    case 'export':
      return isId(v.id) && EXPORT_FORMATS.includes(v.format as ExportFormat)
        ? { type: 'export', id: v.id, format: v.format as ExportFormat }
        : undefined;
    case 'rendered':
      return isCount(v.rows) && isCount(v.totalRows) && isText(v.summary) && (v.tab === 'tables' || v.tab === 'objects')
        ? { type: 'rendered', rows: v.rows, totalRows: v.totalRows, summary: v.summary, tab: v.tab }
        : undefined;
    default:
      return undefined;
  }
}

/** The message if it is a well-formed HostToWebview (the report's shape is the host's), otherwise undefined. */
export function parseHostMessage(v: unknown): HostToWebview | undefined {
  if (!isObject(v)) return undefined;
  switch (v.type) {
    case 'running':
      return isText(v.title) && typeof v.checksums === 'boolean' ? { type: 'running', title: v.title, checksums: v.checksums } : undefined;
    case 'progress':
      return isCount(v.done) && isCount(v.total) ? { type: 'progress', done: v.done, total: v.total } : undefined;
    case 'report':
      if (!isText(v.title) || !isObject(v.report) || !Array.isArray(v.report.tables)) return undefined;
      if (v.savedAt !== undefined && !isText(v.savedAt, 40)) return undefined;
      return {
        type: 'report',
        title: v.title,
        report: v.report as unknown as ValidationReport,
        ...(isText(v.savedAt, 40) ? { savedAt: v.savedAt } : {}),
      };
    case 'error':
      return isText(v.title) && isText(v.message, 10_000) ? { type: 'error', title: v.title, message: v.message } : undefined;
    case 'done':
      return isId(v.id) && typeof v.ok === 'boolean' && isText(v.message, 10_000)
        ? { type: 'done', id: v.id, ok: v.ok, message: v.message }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * What to validate, as kept in the webview's state (getState): untrusted like every message, so
 * only well-formed arguments come back (the host also checks that the connections exist).
 */
export function parseValidationArgs(v: unknown): ValidationArgs | undefined {
  if (!isObject(v)) return undefined;
  const ok =
    isText(v.sourceConnectionId, 100) &&
    isText(v.targetConnectionId, 100) &&
    isText(v.sourceDatabase, 200) &&
    isText(v.targetDatabase, 200);
  if (!ok) return undefined;
  if (v.checksums !== undefined && typeof v.checksums !== 'boolean') return undefined;
  if (v.schemas !== undefined && !(Array.isArray(v.schemas) && v.schemas.length <= 10_000 && v.schemas.every((s) => isText(s, 200))))
    return undefined;
  return {
    sourceConnectionId: v.sourceConnectionId as string,
    sourceDatabase: v.sourceDatabase as string,
    targetConnectionId: v.targetConnectionId as string,
    targetDatabase: v.targetDatabase as string,
    ...(typeof v.checksums === 'boolean' ? { checksums: v.checksums } : {}),
    ...(Array.isArray(v.schemas) ? { schemas: v.schemas } : {}),
  };
}
