/**
 * Messages between the extension host and the validation webview. Discriminated unions only; the
 * webview says `ready` before the host posts data.
 */
import type { ValidationReport } from './report.js';

export type ExportFormat = 'json' | 'csv' | 'markdown';

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'rerun'; checksums: boolean }
  | { type: 'recheckTable'; schema: string; name: string }
  | { type: 'export'; format: ExportFormat }
  | { type: 'copyCountQuery'; schema: string; name: string }
  /** What the view shows after a render (for tests and diagnostics). */
  | { type: 'rendered'; rows: number; totalRows: number; summary: string; tab: 'tables' | 'objects' };

export type HostToWebview =
  | { type: 'running'; title: string; checksums: boolean }
  | { type: 'progress'; done: number; total: number }
  | { type: 'report'; title: string; report: ValidationReport }
  | { type: 'error'; title: string; message: string };

/** What the webview keeps with getState/setState: UI state and what to validate again after a reload. */
export interface ValidationViewState {
  args?: ValidationArgs;
  sort?: { column: string; descending: boolean };
  filter?: 'differences' | 'all';
  search?: string;
  tab?: 'tables' | 'objects';
  page?: number;
}

export interface ValidationArgs {
  sourceConnectionId: string;
  sourceDatabase: string;
  targetConnectionId: string;
  targetDatabase: string;
  checksums?: boolean;
  schemas?: string[];
}
