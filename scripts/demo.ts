/**
 * `npm run demo`: a PG15 source with sample data, an empty PG17 target, and code-server with the
 * packaged extension. Prints what to open and paste; Ctrl+C stops everything and removes the
 * temporary data. `--check` starts everything, verifies it answers, and stops (for CI and smoke runs).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConnectionString } from '../src/core/connection.js';
import type { Side } from '../src/core/side.js';
import { startCodeServer, type CodeServer } from '../test/helpers/codeServer.js';
import { createMigrator, createSampleDatabase, MIGRATOR } from '../test/helpers/fixtures.js';
import { startServers, type TestServer } from '../test/helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const DB = 'shop';
const DEMO_PASSWORD = 'hydra-demo';
const TARGET_ADMIN = 'hydra_admin';

let servers: Record<'pg15' | 'pg17', TestServer> | undefined;
let code: CodeServer | undefined;
let workspace: string | undefined;
let stopping = false;

async function stop(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nStopping code-server and both PostgreSQL servers, removing their data…');
    await code?.stop().catch(() => undefined);
    await Promise.all([servers?.pg15.stop(), servers?.pg17.stop()]).catch(() => undefined);
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

process.removeAllListeners('SIGINT');
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  console.log('Starting a PG15 source and a PG17 target…');
  servers = await startServers('pg15', 'pg17');
  await createSampleDatabase(servers.pg15, DB);
  await servers.pg15.sql(
    `
    SET ROLE ${MIGRATOR};
    CREATE TABLE public.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL REFERENCES public.accounts, placed_at timestamptz NOT NULL, total numeric(12,2));
    INSERT INTO public.orders (account_id, placed_at, total) SELECT 1 + g % 1000, now() - g * interval '1 second', (g % 997) * 1.01 FROM generate_series(1, 300000) g;
    CREATE VIEW public.big_spenders AS SELECT account_id, sum(total) AS spent FROM public.orders GROUP BY account_id HAVING sum(total) > 100000;
    RESET ROLE; ANALYZE;`,
    DB,
  );
  await createMigrator(servers.pg17);
  await servers.pg17.sql(`ALTER ROLE ${MIGRATOR} CREATEDB`);
  // A throwaway password for throwaway servers, easy to type; the tests use an awkward one.
  for (const s of [servers.pg15, servers.pg17]) await s.sql(`ALTER ROLE ${MIGRATOR} PASSWORD '${DEMO_PASSWORD}'`);
  // The sample's columnar stand-in is a plain access method: creating it on the target takes a superuser
  // (with real Hydra the columnar extension does that). The demo target connects as one.
  await servers.pg17.sql(`CREATE ROLE ${TARGET_ADMIN} LOGIN SUPERUSER PASSWORD '${DEMO_PASSWORD}'`);
  workspace = mkdtempSync(join(tmpdir(), 'hm-demo-ws-'));
  // Both servers as libpq services with their passwords in a password file (0600), throwaway like
  // the servers: the workbench starts with them, so they are in the explorer at first open.
  const libpq = join(workspace, '.libpq');
  mkdirSync(libpq, { mode: 0o700 });
  const serviceFile = join(libpq, 'pg_service.conf');
  const passFile = join(libpq, 'pgpass');
  writeFileSync(
    serviceFile,
    `[hydra_demo_source]\nhost=127.0.0.1\nport=${servers.pg15.port}\ndbname=${DB}\nuser=${MIGRATOR}\nsslmode=disable\n\n` +
      `[hydra_demo_target]\nhost=127.0.0.1\nport=${servers.pg17.port}\ndbname=postgres\nuser=${TARGET_ADMIN}\nsslmode=disable\n`,
  );
  writeFileSync(
    passFile,
    `127.0.0.1:${servers.pg15.port}:*:${MIGRATOR}:${DEMO_PASSWORD}\n127.0.0.1:${servers.pg17.port}:*:${TARGET_ADMIN}:${DEMO_PASSWORD}\n`,
    { mode: 0o600 },
  );
  // The archives go into the demo's folder, so Ctrl+C removes them with it (not ~/hydra-migrate-dumps).
  code = await startCodeServer({
    env: { HYDRA_MIGRATE_DEMO: '1', PGSERVICEFILE: serviceFile, PGPASSFILE: passFile },
    settings: {
      'hydraMigrate.pgBinDir': '/usr/lib/postgresql/15/bin',
      'hydraMigrate.dumpFolder': join(workspace, 'dumps'),
      'hydraMigrate.serviceConnections': [
        { service: 'hydra_demo_source', role: 'source', name: `Demo source (PG${servers.pg15.major})` },
        { service: 'hydra_demo_target', role: 'target', name: `Demo target (PG${servers.pg17.major})` },
      ],
    },
  });
  await code.installExtension(join(repo, 'dist', 'hydra-migrate.vsix'));
  const enc = encodeURIComponent;
  const source = `postgresql://${MIGRATOR}@127.0.0.1:${servers.pg15.port}/${DB}?sslmode=disable`;
  const target = `postgresql://${TARGET_ADMIN}@127.0.0.1:${servers.pg17.port}/postgres?sslmode=disable`;
  console.log(`
Hydra Migrate demo is running.

  Open:      ${code.url}/?folder=${enc(workspace)}
  Then:      the Hydra Migrate icon in the activity bar: both servers are there already. Right-click
             "${DB}" under "Demo source (PG${servers.pg15.major})" -> Migrate Database…

  Source: PostgreSQL ${servers.pg15.major}, database "${DB}" (a columnar table, partitions, awkward names, 300,000 orders), ${source}
  Target: PostgreSQL ${servers.pg17.major}, empty, ${target}
  They come from a throwaway pg_service.conf and .pgpass (${libpq}), as psql would read them.

  The same from the command line:
    PGSERVICEFILE=${serviceFile} PGPASSFILE=${passFile} node dist/cli.cjs tables --uri service=hydra_demo_source --schema public

Press Ctrl+C to stop everything and remove the temporary data.`);
  if (check) {
    const res = await fetch(`${code.url}/healthz`);
    console.log(`check: code-server ${res.ok ? 'answers' : 'does not answer'}`);
    // The demo's own path, without the UI: migrate the sample to the target and validate it.
    const { migrate } = await import('../src/core/migrate.js');
    const { validate } = await import('../src/core/validate.js');
    const src: Side = { role: 'source', profile: parseConnectionString(source).target, password: DEMO_PASSWORD, database: DB };
    const tgt: Side = { role: 'target', profile: parseConnectionString(target).target, password: DEMO_PASSWORD, database: 'shop_check' };
    const dumpPath = join(workspace, 'shop.dir');
    const m = await migrate({ source: src, target: tgt, dumpPath, noOwner: true, noAcl: true, binDir: '/usr/lib/postgresql/15/bin' });
    const v = m.ok ? await validate({ source: src, target: tgt }) : undefined;
    console.log(
      `check: migrate ${m.ok ? 'succeeded' : `failed at ${m.failedStep}: ${m.steps.at(-1)?.failure?.message ?? ''}`}; validation ${v ? (v.ok ? `ok (${v.summary.tables} tables, ${v.summary.targetRows} rows)` : 'found differences') : 'not run'}`,
    );
    await stop(res.ok && m.ok && v?.ok ? 0 : 1);
  }
  await new Promise(() => undefined);
} catch (err) {
  console.error(`The demo could not start: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
