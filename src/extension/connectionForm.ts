/**
 * The prompts that create or edit a connection: paste a URI, or answer one field at a time.
 * Escape at any prompt cancels and saves nothing.
 */
import * as vscode from 'vscode';
import {
  ConnectionStringError,
  DEFAULT_PORT,
  defaultSslMode,
  parseConnectionString,
  parsePort,
  SSL_MODES,
  type ConnectionRole,
  type ConnectionTarget,
  type ParsedConnectionString,
  type SslMode,
} from '../core/connection.js';

export interface FormResult {
  target: ConnectionTarget;
  /** undefined: unchanged/none; '' : explicitly none. */
  password?: string;
}

const t = vscode.l10n.t;

export async function pickRole(): Promise<ConnectionRole | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: '$(arrow-circle-up) ' + t('Source'), description: t('the server you migrate from'), role: 'source' as const },
      { label: '$(arrow-circle-down) ' + t('Target'), description: t('the server you migrate to'), role: 'target' as const },
    ],
    { title: t('Add Connection'), placeHolder: t('Is this a source or a target server?'), ignoreFocusOut: true },
  );
  return picked?.role;
}

/** Tries to parse; returns the message to show under the input box, or undefined when valid. */
export function uriProblem(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  try {
    parseConnectionString(value);
    return undefined;
  } catch (e) {
    return e instanceof ConnectionStringError ? e.message : String(e);
  }
}

export async function promptUri(title: string): Promise<ParsedConnectionString | undefined> {
  const value = await vscode.window.showInputBox({
    title,
    prompt: t('Paste a connection URI. A password in it is moved to the system keychain and removed from the URI.'),
    placeHolder: 'postgresql://user:password@host:5432/dbname?sslmode=require',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? t('Paste a URI such as postgresql://user@host:5432/dbname') : uriProblem(v)),
  });
  if (value === undefined) return undefined;
  return parseConnectionString(value);
}

/** Asks each field in turn, prefilled with `initial`. */
export async function promptDetails(
  title: string,
  initial: Partial<ConnectionTarget> = {},
  askPassword: 'new' | 'edit',
): Promise<FormResult | undefined> {
  const total = 7;
  let step = 1;
  const ask = async (
    prompt: string,
    value: string,
    validate?: (v: string) => string | undefined,
    options: { password?: boolean; placeHolder?: string } = {},
  ): Promise<string | undefined> => {
    const box: vscode.InputBoxOptions = {
      title: `${title} (${step}/${total})`,
      prompt,
      value,
      ignoreFocusOut: true,
      password: options.password ?? false,
    };
    if (options.placeHolder) box.placeHolder = options.placeHolder;
    if (validate) box.validateInput = validate;
    const answer = await vscode.window.showInputBox(box);
    step++;
    return answer;
  };
  const required = (what: string) => (v: string) => (v.trim() === '' ? t('Enter {0}.', what) : undefined);
  const host = await ask(t('Host name or IP address of the server'), initial.host ?? 'localhost', required(t('a host')));
  if (host === undefined) return undefined;
  const portText = await ask(t('Port'), String(initial.port ?? DEFAULT_PORT), (v) => {
    try {
      parsePort(v);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  });
  if (portText === undefined) return undefined;
  const database = await ask(t('Database'), initial.database ?? 'postgres', required(t('a database name')));
  if (database === undefined) return undefined;
  const user = await ask(t('User'), initial.user ?? '', required(t('a user name')));
  if (user === undefined) return undefined;
  const password = await ask(
    askPassword === 'edit'
      ? t('Password (leave empty to keep the stored password)')
      : t('Password (stored in the system keychain; leave empty if the server needs none)'),
    '',
    undefined,
    { password: true },
  );
  if (password === undefined) return undefined;
  step = 6;
  const sslPick = await vscode.window.showQuickPick(
    SSL_MODES.map((mode) => ({
      label: mode,
      description: sslDescription(mode),
      picked: mode === (initial.sslmode ?? defaultSslMode(host.trim())),
    })),
    {
      title: `${title} (6/${total})`,
      placeHolder: t('SSL mode (managed services usually need require or verify-full)'),
      ignoreFocusOut: true,
    },
  );
  if (!sslPick) return undefined;
  const sslmode = sslPick.label;
  const target: ConnectionTarget = { host: host.trim(), port: parsePort(portText), database: database.trim(), user: user.trim(), sslmode };
  step = 7;
  const needsCa = sslmode === 'verify-ca' || sslmode === 'verify-full';
  const ca = await ask(
    needsCa ? t('CA certificate file (required for {0})', sslmode) : t('CA certificate file (optional)'),
    initial.sslrootcert ?? '',
    needsCa ? required(t('the path of the CA certificate file')) : undefined,
    { placeHolder: '/path/to/root.crt' },
  );
  if (ca === undefined) return undefined;
  if (ca.trim() !== '') target.sslrootcert = ca.trim();
  const result: FormResult = { target };
  if (password !== '') result.password = password;
  return result;
}

function sslDescription(mode: SslMode): string {
  switch (mode) {
    case 'disable':
      return t('never encrypt');
    case 'allow':
      return t('plain first, encrypt if the server insists');
    case 'prefer':
      return t('encrypt if the server can (libpq default)');
    case 'require':
      return t('always encrypt, do not verify the certificate');
    case 'verify-ca':
      return t('encrypt and verify the certificate against a CA');
    case 'verify-full':
      return t('encrypt, verify the CA and the host name');
  }
}

export async function promptName(defaultName: string, validate: (v: string) => string | undefined): Promise<string | undefined> {
  const name = await vscode.window.showInputBox({
    title: t('Connection name'),
    prompt: t('A name for this connection in the explorer'),
    value: defaultName,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? t('Enter a name.') : validate(v.trim())),
  });
  return name?.trim();
}
