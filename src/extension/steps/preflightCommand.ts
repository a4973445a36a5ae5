/** Run Readiness Checks…: the checks in a step terminal and as a checklist. */
import * as vscode from 'vscode';
import { statusCodicon } from '../../core/present/icons.js';
import { preflightLines as presentPreflight } from '../../core/present/steps.js';
import { ansi as style } from '../../core/present/style.js';
import { preflight, type PreflightReport } from '../../core/preflight.js';
import { Cancelled } from '../errors.js';
import { type ExplorerNode } from '../explorer.js';
import { settings, toolOptions } from '../settings.js';

import type { PairArgs } from './args.js';
import { profile, promptPair, runRecorded, sideOf, type StepCommandResult, type StepCtx } from './stepCommand.js';

const t = vscode.l10n.t;

export function preflightLines(report: PreflightReport): string[] {
  return presentPreflight(report, style);
}

export type PreflightCommandResult = StepCommandResult & { report?: PreflightReport };

/** Source database (from the node), target connection and database: then the checks, and the checklist. */
export async function preflightCommand(
  ctx: StepCtx,
  arg?: ExplorerNode,
  migrateNow?: (args: PairArgs) => Promise<unknown>,
): Promise<PreflightCommandResult | undefined> {
  const args = await promptPair(ctx, arg, 'check');
  const result = await runPreflight(ctx, args);
  if (result.report)
    void showChecklist(result.report).then((go) => {
      if (go && migrateNow)
        void migrateNow(args).catch((err: unknown) => {
          if (err instanceof Cancelled) return;
          const message = err instanceof Error ? err.message : String(err);
          ctx.log.error(`Migrate Now failed: ${message}`);
          void vscode.window.showErrorMessage(message);
        });
    });
  return result;
}

/** Runs the readiness checks in a step terminal (after the prompts, from the API, on Re-run). */
export async function runPreflight(ctx: StepCtx, args: PairArgs): Promise<PreflightCommandResult> {
  const s = profile(ctx, args.sourceConnectionId);
  const tg = profile(ctx, args.targetConnectionId);
  const sourceDb = args.sourceDatabase ?? s.database;
  const targetDb = args.targetDatabase ?? sourceDb;
  const title = t('Readiness checks {0} → {1}', `${s.name}/${sourceDb}`, `${tg.name}/${targetDb}`);
  let report: PreflightReport | undefined;
  const cfg = settings();
  const result = await runRecorded(
    ctx,
    title,
    {
      step: 'preflight',
      title,
      source: `${s.name}/${sourceDb}`,
      target: `${tg.name}/${targetDb}`,
      rerun: { step: 'preflight', args: { ...args } },
    },
    async (io, _c, extra) => {
      report = await preflight({
        source: await sideOf(ctx, s, sourceDb),
        target: await sideOf(ctx, tg, targetDb),
        ...toolOptions(cfg),
        ...(args.noOwner ? { noOwner: true } : {}),
        ...(args.noAcl ? { noAcl: true } : {}),
        ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
        ...(args.confirmNonEmpty ? { confirmNonEmptyDatabase: args.confirmNonEmpty } : {}),
        rehearse: true,
        signal: io.signal,
      });
      for (const l of preflightLines(report)) io.line(l);
      const blockers = report.checks.filter((c) => c.status === 'blocker');
      if (!report.ready) extra.errorSummary = blockers.map((b) => b.title).join('; ') || 'a server could not be reached';
      return report.ready
        ? { ok: true, summary: [t('Ready to migrate.')] }
        : { ok: false, summary: [t('Not ready: {0} blocking problem(s). Fix them and run the checks again.', blockers.length)] };
    },
  );
  return report ? { ...result, report } : result;
}

/**
 * The readiness checks as a list: one item per check with its status icon, detail and fix; when
 * ready, "Migrate Now" first. Resolves true when the user chose to migrate.
 */
export async function showChecklist(report: PreflightReport): Promise<boolean> {
  const migrate = {
    label: `$(rocket) ${t('Migrate Now…')}`,
    description: t('Migrate Database… with these connections'),
    detail: '',
    go: true,
  };
  const items = report.checks.map((c) => ({
    label: `${statusCodicon(c.status)} ${c.title}`,
    description: c.status === 'ok' ? '' : c.status,
    detail: c.fix && c.status !== 'ok' ? `${c.detail} — Fix: ${c.fix}` : c.detail,
    go: false,
  }));
  const blockers = report.checks.filter((c) => c.status === 'blocker').length;
  const picked = await vscode.window.showQuickPick(report.ready ? [migrate, ...items] : items, {
    title: report.ready ? t('Ready to migrate') : t('Not ready: {0} blocking problem(s)', blockers),
    placeHolder: report.ready ? t('Readiness checks: choose Migrate Now, or Escape to close') : t('Readiness checks (Escape to close)'),
    matchOnDetail: true,
  });
  return picked?.go === true;
}
