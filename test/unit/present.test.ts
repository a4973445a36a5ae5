/** One presentation for the CLI (plain) and the step terminals (ANSI): the same words either way. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { RestoreErrorGroup } from '../../src/core/archive.js';
import { encryptionCheck } from '../../src/core/encryption.js';
import type { PreflightReport } from '../../src/core/preflight.js';
import { rehearsalCheck } from '../../src/core/rehearse.js';
import type { StepProblem } from '../../src/core/step.js';
import type { ServerInfo } from '../../src/core/pg.js';
import type { Side } from '../../src/core/side.js';
import { statusCodicon, statusSymbol } from '../../src/core/present/icons.js';
import {
  duration,
  failureLines,
  preflightLines,
  preflightText,
  preflightVerdict,
  restoreErrorLines,
  stepRecordLine,
} from '../../src/core/present/steps.js';
import { ansi, escapeControl, plain, stripAnsi } from '../../src/core/present/style.js';

const report = (statuses: Array<'ok' | 'warning' | 'blocker'>, ready: boolean): PreflightReport => ({
  ready,
  checks: statuses.map((status, i) => ({
    id: 'tools',
    title: `Check ${i}`,
    status,
    detail: `detail ${i}`,
    ...(status === 'ok' ? {} : { fix: `fix ${i}` }),
  })),
  targetDatabase: { name: 'db', exists: false, objects: 0 },
});

describe('readiness report', () => {
  it('one line per check, the fix under every check that is not ok', () => {
    assert.deepEqual(preflightLines(report(['ok', 'warning', 'blocker'], false), plain), [
      '✔ Check 0: detail 0',
      '! Check 1: detail 1',
      '    fix: fix 1',
      '✖ Check 2: detail 2',
      '    fix: fix 2',
    ]);
  });
  it('the terminal shows the same words as the CLI, with colour', () => {
    const r = report(['ok', 'warning', 'blocker'], false);
    const coloured = preflightLines(r, ansi);
    assert.notDeepEqual(coloured, preflightLines(r, plain));
    assert.deepEqual(coloured.map(stripAnsi), preflightLines(r, plain));
  });
  it('the verdict counts blockers and warnings in words', () => {
    assert.equal(preflightVerdict(report(['ok'], true)), 'Ready to migrate.');
    assert.equal(preflightVerdict(report(['ok', 'warning'], true)), 'Ready to migrate (1 warning).');
    assert.equal(
      preflightVerdict(report(['blocker', 'blocker', 'warning', 'warning'], false)),
      'Not ready: 2 blocking problems, 2 warnings.',
    );
    assert.equal(preflightVerdict(report(['blocker'], false)), 'Not ready: 1 blocking problem.');
    assert.match(
      preflightText(report(['blocker'], false), plain),
      /✖ Check 0: detail 0\n {4}fix: fix 0\n\nNot ready: 1 blocking problem\.$/,
    );
  });
});

describe('failures and restore errors', () => {
  it('what failed, then what to do', () => {
    assert.deepEqual(failureLines({ problem: 'refused', message: 'Refused.', hint: 'Start it.' }, plain), ['Refused.', 'fix: Start it.']);
    assert.deepEqual(failureLines(undefined, plain), []);
  });
  it('each group with its count and fix, at most three examples with their statements', () => {
    const group: RestoreErrorGroup = {
      cause: 'missing_role',
      title: 'Roles missing on the target: r',
      fix: 'Create them.',
      count: 4,
      names: ['r'],
      examples: [1, 2, 3, 4].map((i) => ({ error: `e${i}`, ...(i === 1 ? { command: 'ALTER x OWNER TO r;' } : {}) })),
    };
    assert.deepEqual(restoreErrorLines([group], plain), [
      '',
      '✖ Roles missing on the target: r (4)',
      '  fix: Create them.',
      '  - e1',
      '    Command was: ALTER x OWNER TO r;',
      '  - e2',
      '  - e3',
    ]);
  });
  it('a step of a migration in one line', () => {
    assert.equal(
      stepRecordLine({ step: 'dump', ok: true, durationMs: 2100, detail: '9 entries', command: 'pg_dump x' }, plain),
      '✔ dump: 9 entries (2.1 s)\n  $ pg_dump x',
    );
    assert.equal(stepRecordLine({ step: 'analyze', ok: true, skipped: true, durationMs: 0 }, plain), '- analyze (0 ms)');
    assert.equal(stepRecordLine({ step: 'restore', ok: false, durationMs: 12 }, plain), '✖ restore (12 ms)');
  });
});

describe('icons and durations', () => {
  it('one map: a symbol for text, a codicon for the UI', () => {
    assert.deepEqual(
      (['ok', 'warning', 'blocker', 'unknown'] as const).map((s) => statusSymbol(s, plain)),
      ['✔', '!', '✖', '?'],
    );
    assert.deepEqual((['ok', 'warning', 'blocker', 'unknown'] as const).map(statusCodicon), [
      '$(pass)',
      '$(warning)',
      '$(error)',
      '$(question)',
    ]);
  });
  it('milliseconds under a second, seconds above', () => {
    assert.deepEqual([duration(850.4), duration(1000), duration(12_345)], ['850 ms', '1.0 s', '12.3 s']);
  });
});

describe('escapeControl', () => {
  it('makes terminal control sequences from object names visible, keeps text, tabs, line breaks and colours', () => {
    assert.equal(escapeControl('table "\u001b]0;pwned\u0007" and \u001b[2J\u001bc'), 'table "\\x1b]0;pwned\\x07" and \\x1b[2J\\x1bc');
    assert.equal(escapeControl('a\tb\nc'), 'a\tb\nc');
    assert.equal(escapeControl(ansi.red('fine')), ansi.red('fine'));
    assert.equal(escapeControl('\u009b2J ünïcode'), '\\u009b2J ünïcode');
    assert.equal(escapeControl(`name \u001b[8mhidden`, false), 'name \\x1b[8mhidden', 'a tool line: colour codes escaped too');
  });
});

describe('the readiness warning for connections without TLS', () => {
  const info = (ssl: boolean) => ({ ssl }) as unknown as ServerInfo;
  const side = (host: string): Side => ({
    role: 'source',
    profile: { host, port: 5432, database: 'd', user: 'u', sslmode: 'prefer' },
    password: undefined,
  });
  it('warns for another host reached without TLS, names it, says what to do', () => {
    const check = encryptionCheck([
      ['source', side('db.example.com'), info(false)],
      ['target', side('10.1.2.3'), info(true)],
    ]);
    assert.equal(check?.status, 'warning');
    assert.match(check.detail, /the source \(db\.example\.com\) is not encrypted/);
    assert.doesNotMatch(check.detail, /10\.1\.2\.3/);
    assert.match(check.fix ?? '', /sslmode=require/);
  });
  it('says nothing for this machine, for TLS, or for a server that could not be reached', () => {
    assert.equal(
      encryptionCheck([
        ['source', side('127.0.0.1'), info(false)],
        ['target', side('localhost'), info(false)],
      ]),
      undefined,
    );
    assert.equal(
      encryptionCheck([
        ['source', side('db.example.com'), info(true)],
        ['target', side('db2.example.com'), undefined],
      ]),
      undefined,
    );
  });
});

describe('the rehearsal as a readiness check', () => {
  it('a cancelled rehearsal or a locale the target lacks blocks; another failure is "could not check"', () => {
    const failed = (problem: StepProblem) =>
      rehearsalCheck({ outcome: 'failed', durationMs: 1, failure: { problem, message: 'm', hint: 'h' } });
    assert.equal(failed('cancelled').status, 'blocker');
    assert.equal(failed('locale_unavailable').status, 'blocker');
    assert.equal(failed('refused').status, 'unknown');
  });
  it('a throwaway database that could not be dropped is named, with the statement to drop it', () => {
    const check = rehearsalCheck({
      outcome: 'clean',
      mode: 'database',
      durationMs: 1,
      entries: 3,
      leftover: { database: 'hm_rehearsal_ab', error: 'in use' },
    });
    assert.equal(check.status, 'warning');
    assert.match(check.detail, /"hm_rehearsal_ab" could not be dropped \(in use\)/);
    assert.match(check.fix ?? '', /DROP DATABASE "hm_rehearsal_ab" WITH \(FORCE\);/);
  });
});
