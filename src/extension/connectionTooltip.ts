/** The tooltip of a connection in the explorer: where it points, where its password comes from, its last state. */
import * as vscode from 'vscode';
import type { ConnectionProfile } from '../core/connection.js';
import type { Credentials } from './connectionStore.js';

/** The last state of a connection; after Test Connection, what the server said about the session. */
export type ConnectionStatus =
  | { state: 'ok'; serverVersion?: string; tested?: { user: string; superuser: boolean; ssl: string; ms: number; at: string } }
  | { state: 'error'; message: string };

export function connectionTooltip(
  p: ConnectionProfile,
  st: ConnectionStatus | undefined,
  from: Credentials | undefined,
): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escapeMd(p.name)}** (${p.role})\n\n`);
  md.appendMarkdown(
    `- host: \`${escapeCode(p.host)}:${p.port}\`\n- database: \`${escapeCode(p.database)}\`\n- user: \`${escapeCode(p.user)}\`\n- sslmode: \`${p.sslmode}\`\n`,
  );
  if (p.sslrootcert) md.appendMarkdown(`- CA file: \`${escapeCode(p.sslrootcert)}\`\n`);
  if (p.service) md.appendMarkdown(`- service: \`${escapeCode(p.service)}\` (pg_service.conf)\n`);
  if (from)
    md.appendMarkdown(
      `- password: ${
        from.from === 'keychain'
          ? vscode.l10n.t('in the OS keychain')
          : from.from === 'pgpass'
            ? vscode.l10n.t('from the password file {0}', `\`${escapeCode(from.passfile ?? '')}\``)
            : from.problem
              ? vscode.l10n.t('none (the password file is not used: {0})', escapeMd(from.problem))
              : vscode.l10n.t('none stored')
      }\n`,
    );
  if (st?.state === 'error') md.appendMarkdown(`\n$(error) ${escapeMd(st.message)}`);
  if (st?.state === 'ok' && st.serverVersion) md.appendMarkdown(`\n$(pass) PostgreSQL ${escapeMd(st.serverVersion)}`);
  if (st?.state === 'ok' && st.tested) {
    const x = st.tested;
    md.appendMarkdown(
      `\n\n${vscode.l10n.t('Tested {0}', escapeMd(x.at))}: ${vscode.l10n.t('user')} \`${escapeCode(x.user)}\` (${
        x.superuser ? vscode.l10n.t('superuser') : vscode.l10n.t('not superuser')
      }), SSL ${escapeMd(x.ssl)}, ${x.ms} ms`,
    );
  }
  md.supportThemeIcons = true;
  return md;
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}

function escapeCode(text: string): string {
  return text.replace(/`/g, "'");
}
