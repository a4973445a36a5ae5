/**
 * Readiness reports, step failures, grouped restore errors and step summaries as lines of text,
 * the same for the CLI (plain) and the step terminals (ANSI).
 */
import type { RestoreErrorGroup, Toc } from '../archive.js';
import { summarizeToc } from '../archive.js';
import type { MigrateStepRecord } from '../migrate.js';
import type { PreflightReport } from '../preflight.js';
import { formatBytes } from '../catalog.js';
import { roughDuration } from '../estimate.js';
import type { StepFailure, StepProgress } from '../step.js';
import { statusSymbol } from './icons.js';
import { escapeControl, type Style } from './style.js';

/** One line per check (with its fix on the next line when it is not ok). */
export function preflightLines(report: PreflightReport, style: Style): string[] {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${statusSymbol(c.status, style)} ${style.bold(c.title)}: ${c.detail}`);
    for (const e of c.examples?.slice(0, 12) ?? []) lines.push(`    ${style.dim(escapeControl(e, false))}`);
    if (c.fix && c.status !== 'ok') lines.push(`    ${style.bold('fix:')} ${c.fix}`);
  }
  return lines;
}

/** "Ready to migrate (1 warning)." / "Not ready: 2 blocking problems, 1 warning." */
export function preflightVerdict(report: PreflightReport): string {
  const blockers = report.checks.filter((c) => c.status === 'blocker').length;
  const warnings = report.checks.filter((c) => c.status === 'warning').length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (report.ready) return `Ready to migrate${warnings ? ` (${plural(warnings, 'warning')})` : ''}.`;
  return `Not ready: ${plural(blockers, 'blocking problem')}${warnings ? `, ${plural(warnings, 'warning')}` : ''}.`;
}

/** The whole readiness report: checks, a blank line, the verdict. */
export function preflightText(report: PreflightReport, style: Style): string {
  return [...preflightLines(report, style), '', preflightVerdict(report)].join('\n');
}

/** What failed and what to do. */
export function failureLines(failure: StepFailure | undefined, style: Style): string[] {
  return failure ? [style.red(failure.message), `${style.bold('fix:')} ${failure.hint}`] : [];
}

/** pg_restore's errors grouped by cause: title and count, the fix, up to three examples with their statement. */
export function restoreErrorLines(groups: RestoreErrorGroup[], style: Style): string[] {
  const lines: string[] = [];
  for (const g of groups) {
    lines.push('', style.red(`✖ ${g.title} (${g.count})`), `  ${style.bold('fix:')} ${g.fix}`);
    for (const e of g.examples.slice(0, 3)) {
      lines.push(`  - ${e.error}`);
      if (e.command) lines.push(`    Command was: ${e.command}`);
    }
  }
  return lines;
}

/** "archive: CUSTOM format, dumped from PostgreSQL 15.8, 120 entries: 40 TABLE DATA, …" */
export function tocLine(toc: Toc): string {
  const kinds = summarizeToc(toc)
    .slice(0, 6)
    .map((k) => `${k.count} ${k.desc}`)
    .join(', ');
  return `archive: ${toc.format ?? '?'} format, dumped from PostgreSQL ${toc.dumpedFromVersion ?? '?'}, ${toc.entries.length} entries: ${kinds}`;
}

/** A duration for people: "850 ms", "12.3 s". */
export function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** "✔ dump: 120 entries, sha256 … (2.1 s)" and the command below it. */
export function stepRecordLine(record: MigrateStepRecord, style: Style): string {
  const status = record.skipped ? 'skipped' : record.ok ? 'ok' : 'blocker';
  const detail = record.detail ? `: ${record.detail}` : '';
  const command = record.command ? `\n  $ ${record.command}` : '';
  return `${statusSymbol(status, style)} ${record.step}${detail} (${duration(record.durationMs)})${command}`;
}

/** A step's progress in percent (0-100, whole), from bytes when it reports them. */
export function progressPercent(p: StepProgress): number {
  return p.total > 0 ? Math.min(100, Math.floor((100 * p.done) / p.total)) : 0;
}

/** "42% · 1.2 GB of 3.0 GB · about 4 min left · public.accounts", or "[50%] 4/8 public.accounts" without bytes. */
export function progressText(p: StepProgress): string {
  const percent = progressPercent(p);
  if (p.bytesTotal === undefined || p.bytesDone === undefined) return `[${percent}%] ${p.done}/${p.total}${p.label ? ` ${p.label}` : ''}`;
  const eta = p.etaSeconds !== undefined && percent < 100 ? ` · about ${roughDuration(p.etaSeconds)} left` : '';
  const moved = p.bytesTotal > 0 ? `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}` : 'no data to move';
  return `${percent}% · ${moved}${eta}${p.label && percent < 100 ? ` · ${p.label}` : ''}`;
}

/** One line of `--progress json`: what the CLI writes and a task terminal reads back. */
export interface ProgressEvent {
  phase: string;
  percent: number;
  bytesDone: number | null;
  bytesTotal: number | null;
  etaSeconds: number | null;
  table: string | null;
}

export function progressEvent(phase: string, percent: number, p: StepProgress): ProgressEvent {
  return {
    phase,
    percent,
    bytesDone: p.bytesDone ?? null,
    bytesTotal: p.bytesTotal ?? null,
    etaSeconds: p.etaSeconds ?? null,
    table: p.label ?? null,
  };
}

/** A `--progress json` line read back as progress; undefined for any other line. */
export function parseProgressEvent(line: string): { phase: string; progress: StepProgress } | undefined {
  if (!line.startsWith('{"phase"')) return undefined;
  let j: ProgressEvent;
  try {
    j = JSON.parse(line) as ProgressEvent;
  } catch {
    return undefined;
  }
  const progress: StepProgress =
    j.bytesTotal !== null && j.bytesDone !== null
      ? { done: j.bytesDone, total: j.bytesTotal, bytesDone: j.bytesDone, bytesTotal: j.bytesTotal }
      : { done: j.percent, total: 100 };
  if (j.etaSeconds !== null) progress.etaSeconds = j.etaSeconds;
  if (j.table !== null) progress.label = j.table;
  return { phase: j.phase, progress };
}
