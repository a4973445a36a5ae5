/**
 * Transfer an archive (file or directory) to another host with rsync or scp over ssh (key
 * authentication, never a password prompt), then compare sha256 sums on the far side when a
 * shell is available there.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sha256File } from './archive.js';
import { displayCommand, runTool, shellQuote } from './run.js';
import type { StepCallbacks, StepFailure } from './step.js';

export interface TransferOptions extends StepCallbacks {
  archive: string;
  host: string;
  user: string;
  port?: number;
  /** Remote folder (created when missing) or full path; the archive keeps its name inside a folder. */
  remoteDir: string;
  identityFile?: string;
  tool?: 'rsync' | 'scp';
  /** Paths of the programs (default: from PATH). */
  sshPath?: string;
  rsyncPath?: string;
  scpPath?: string;
  /** known_hosts file (default: ssh's own). A host whose key is not in it is refused (StrictHostKeyChecking=yes). */
  knownHostsFile?: string;
}

export interface TransferResult {
  ok: boolean;
  cancelled: boolean;
  command: string;
  durationMs: number;
  remotePath: string;
  /** true: every file's sha256 matched on the far side; false: a mismatch; undefined: not checked. */
  verified?: boolean;
  verifyNote?: string;
  failure?: StepFailure;
}

function sshOptions(o: TransferOptions): string[] {
  // An unknown host key is refused, never accepted silently: the archive holds every row of the database.
  const opts = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10'];
  if (o.knownHostsFile) opts.push('-o', `UserKnownHostsFile=${o.knownHostsFile}`);
  if (o.identityFile) opts.push('-i', o.identityFile);
  return opts;
}

/** sha256 of each file of the archive, keyed by its path relative to the archive's parent. */
export async function localSums(archive: string): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  const name = basename(archive);
  if (statSync(archive).isDirectory()) {
    for (const f of readdirSync(archive).sort()) sums.set(`${name}/${f}`, await sha256File(join(archive, f)));
  } else {
    sums.set(name, await sha256File(archive));
  }
  return sums;
}

function explainSsh(lines: string[], o: TransferOptions): StepFailure {
  const text = lines.join('\n');
  const where = `${o.user}@${o.host}:${o.port ?? 22}`;
  if (/Permission denied \(publickey/.test(text))
    return {
      problem: 'ssh_auth',
      message: `${where} refused the ssh key.`,
      hint: "Give an identity file whose public key is in the remote user's ~/.ssh/authorized_keys (ssh-copy-id).",
    };
  if (/Connection refused/.test(text))
    return {
      problem: 'refused',
      message: `Nothing accepts ssh connections at ${where}.`,
      hint: 'Check the host and port, and that sshd runs there.',
    };
  if (/Could not resolve hostname/.test(text))
    return {
      problem: 'unknown_host',
      message: `The host name "${o.host}" could not be resolved.`,
      hint: 'Check the spelling or use the IP address.',
    };
  if (/No \S+ host key is known for|Host key verification failed/.test(text) && !/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text))
    return {
      problem: 'host_key',
      message: `The host key of ${o.host} is not known here, so the copy was not started.`,
      hint: `Check the key's fingerprint with the server's administrator (ssh-keyscan -p ${o.port ?? 22} ${o.host} | ssh-keygen -lf -), then add it to ~/.ssh/known_hosts, or connect once with ssh and confirm it.`,
    };
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text))
    return {
      problem: 'host_key',
      message: `The host key of ${o.host} does not match the one known before.`,
      hint: 'If the server was reinstalled, remove its old key with ssh-keygen -R; otherwise do not continue.',
    };
  if (/timed out/i.test(text))
    return { problem: 'timeout', message: `${where} did not answer.`, hint: 'Check the network path and firewalls.' };
  if (/No space left on device/.test(text))
    return {
      problem: 'disk_full',
      message: `The remote disk is full.`,
      hint: 'Free space on the remote host or choose another folder; the partial copy was left for rsync to resume.',
    };
  if (/No such file or directory/.test(text))
    return {
      problem: 'path',
      message: `A path does not exist: ${lines.find((l) => /No such file/.test(l)) ?? ''}`,
      hint: 'Check the archive path and the remote folder.',
    };
  return {
    problem: 'transfer_failed',
    message: lines.filter(Boolean).slice(-3).join(' ') || 'The copy failed.',
    hint: 'See the output above.',
  };
}

export async function transfer(o: TransferOptions): Promise<TransferResult> {
  const started = performance.now();
  const port = String(o.port ?? 22);
  const tool = o.tool ?? 'rsync';
  const ssh = o.sshPath ?? 'ssh';
  const remoteDir = o.remoteDir.replace(/\/+$/, '') || '/';
  const remotePath = `${remoteDir}/${basename(o.archive)}`;
  const dest = `${o.user}@${o.host}:${tool === 'rsync' ? remoteDir + '/' : remoteDir + '/'}`;
  const sshCmd = [ssh, '-p', port, ...sshOptions(o)];
  const result = (partial: Partial<TransferResult>): TransferResult => ({
    ok: false,
    cancelled: false,
    command,
    durationMs: performance.now() - started,
    remotePath,
    ...partial,
  });
  let args: string[];
  let program: string;
  if (tool === 'rsync') {
    program = o.rsyncPath ?? 'rsync';
    args = ['--archive', '--partial', '--info=progress2', '-e', sshCmd.map(shellQuote).join(' '), '--', o.archive, dest];
  } else {
    program = o.scpPath ?? 'scp';
    args = ['-P', port, '-p', ...sshOptions(o), ...(statSync(o.archive).isDirectory() ? ['-r'] : []), '--', o.archive, dest];
  }
  const command = displayCommand([program, ...args]);
  o.onCommand?.(command);
  // The remote folder: created when missing, and it must be ours and private (0700): a folder another
  // user made in a shared place (/var/tmp) would let them read or swap the archive.
  const dirQ = shellQuote(remoteDir);
  const mk = await runTool(
    ssh,
    ['-p', port, ...sshOptions(o), '--', `${o.user}@${o.host}`, `mkdir -p -m 700 -- ${dirQ} && test -O ${dirQ} && chmod 700 -- ${dirQ}`],
    o.signal ? { signal: o.signal } : {},
  );
  if (mk.cancelled)
    return result({
      cancelled: true,
      failure: { problem: 'cancelled', message: 'The transfer was cancelled.', hint: 'Run it again; rsync resumes partial files.' },
    });
  if (mk.exitCode !== 0) {
    const failure = explainSsh(mk.stderrLines, o);
    if (failure.problem !== 'transfer_failed') return result({ failure });
    return result({
      failure: {
        problem: 'path',
        message: `The remote folder ${remoteDir} could not be made private: it belongs to another user or cannot be created.`,
        hint: 'Choose a folder of your own on the remote host (e.g. under your home directory).',
      },
    });
  }
  o.onProgress?.({ done: 0, total: 100 });
  const run = await runTool(program, args, {
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      o.onLine?.(line);
      const m = /\s(\d{1,3})%\s/.exec(line);
      if (m) o.onProgress?.({ done: Number(m[1]), total: 100 });
    },
  });
  if (run.cancelled)
    return result({
      cancelled: true,
      failure: {
        problem: 'cancelled',
        message: 'The transfer was cancelled.',
        hint: tool === 'rsync' ? 'Run it again: rsync resumes the partial copy.' : 'Run it again.',
      },
    });
  if (run.exitCode !== 0) return result({ failure: explainSsh(run.stderrLines, o) });
  o.onProgress?.({ done: 100, total: 100 });

  // Verify: sha256sum of each file on the far side.
  const local = await localSums(o.archive);
  const names = [...local.keys()];
  const remoteCmd = `cd -- ${shellQuote(remoteDir)} && sha256sum -- ${names.map(shellQuote).join(' ')}`;
  const check = await runTool(ssh, ['-p', port, ...sshOptions(o), '--', `${o.user}@${o.host}`, remoteCmd], {
    captureStdout: true,
    stopWithUs: true,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (check.exitCode !== 0) {
    // A copy that could not be checked is not reported as good.
    return result({
      verified: false,
      verifyNote: `Copied; the sha256 could not be checked on the far side (${check.stderrLines.at(-1) ?? 'no shell'}).`,
      failure: {
        problem: 'checksum_mismatch',
        message: `The copy could not be verified: sha256sum did not run on ${o.host} (${check.stderrLines.at(-1) ?? 'no shell'}).`,
        hint: `Check it by hand there (sha256sum ${names.map(shellQuote).join(' ')}) against the sums here, or install coreutils on the remote host.`,
      },
    });
  }
  const remote = new Map<string, string>();
  for (const line of check.stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) remote.set(m[2]!, m[1]!);
  }
  const mismatched = names.filter((n) => remote.get(n) !== local.get(n));
  if (mismatched.length) {
    return result({
      verified: false,
      failure: {
        problem: 'checksum_mismatch',
        message: `The copy differs from the original: ${mismatched.slice(0, 5).join(', ')}.`,
        hint: 'Copy again; if it keeps differing, check the disk and the network on both sides.',
      },
    });
  }
  return result({ ok: true, verified: true, verifyNote: `sha256 of ${names.length} file(s) identical on both sides.` });
}
