/**
 * Progress by bytes for a restore without the source: each table's data size read from the archive
 * the real pg_dump wrote (custom format to a file, custom format through a pipe as a stream writes
 * it, directory format), and `hydra-migrate restore --progress json` weighed by them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { readArchive, type Toc } from '../../src/core/archive.js';
import { archiveDataSizes } from '../../src/core/archiveSizes.js';
import type { ProgressEvent } from '../../src/core/present/steps.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
let pg15: TestServer;
let pg17: TestServer;
let dir: string;
const archives: Record<'file' | 'pipe' | 'dir', string> = { file: '', pipe: '', dir: '' };

const pgEnv = (s: TestServer) => ({
  ...process.env,
  PGHOST: '127.0.0.1',
  PGPORT: String(s.port),
  PGUSER: s.adminUser,
  PGPASSWORD: s.adminPassword,
});
const tocOf = async (path: string): Promise<Toc> => {
  const r = await readArchive(join(PG15_TOOLS, 'pg_restore'), path);
  assert.ok(r.ok);
  return r.value;
};
const byTag = (toc: Toc, sizes: Map<number, number> | undefined): Record<string, number> =>
  Object.fromEntries([...(sizes ?? new Map<number, number>())].map(([id, b]) => [toc.entries.find((e) => e.dumpId === id)!.tag, b]));

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await pg15.sql('CREATE DATABASE weighed TEMPLATE template0');
  await pg15.sql(
    `CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1200000) g;
     CREATE TABLE public.small AS SELECT g AS id FROM generate_series(1, 10) g;
     CREATE TABLE public.empty (id int);
     CREATE INDEX big_id ON public.big (id);
     SELECT lo_from_bytea(0, 'a large object'::bytea);`,
    'weighed',
  );
  dir = mkdtempSync(join(tmpdir(), 'hm-sizes-'));
  const dumpTo = (args: string[]) => {
    const r = spawnSync(join(PG15_TOOLS, 'pg_dump'), [...args, 'weighed'], { env: pgEnv(pg15), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  archives.file = join(dir, 'file.dump');
  dumpTo(['--format=custom', `--file=${archives.file}`]);
  // Through a pipe (as the streamed migration writes it): pg_dump cannot go back to write offsets.
  archives.pipe = join(dir, 'pipe.dump');
  const piped = spawnSync('bash', ['-c', `"${join(PG15_TOOLS, 'pg_dump')}" --format=custom weighed | cat > "${archives.pipe}"`], {
    env: pgEnv(pg15),
    encoding: 'utf8',
  });
  assert.equal(piped.status, 0, piped.stderr);
  archives.dir = join(dir, 'weighed.dir');
  dumpTo(['--format=directory', `--file=${archives.dir}`]);
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("each table's data size, read from the archive", () => {
  it('custom format written to a file and through a pipe give the same sizes; the big table weighs its size', async () => {
    const toc = await tocOf(archives.file);
    const file = byTag(toc, archiveDataSizes(archives.file, toc));
    const pipeToc = await tocOf(archives.pipe);
    const pipe = byTag(pipeToc, archiveDataSizes(archives.pipe, pipeToc));
    assert.deepEqual(Object.keys(file).sort(), ['big', 'empty', 'small']);
    assert.deepEqual(pipe, file, 'offsets and the walk over the data blocks agree');
    const size = statSync(archives.file).size;
    assert.ok(file.big! > 0.9 * size && file.big! < size, `big ${file.big} of ${size} bytes`);
    assert.ok(file.small! < 200 && file.empty! < 200, JSON.stringify(file));
  });

  it("directory format: each table's data file", async () => {
    const toc = await tocOf(archives.dir);
    const sizes = byTag(toc, archiveDataSizes(archives.dir, toc));
    const entry = toc.entries.find((e) => e.tag === 'big' && e.desc === 'TABLE DATA')!;
    assert.equal(sizes.big, statSync(join(archives.dir, `${entry.dumpId}.dat.gz`)).size);
    assert.ok(sizes.small! < 200);
  });

  it('a file that is not the archive of this table of contents gives no sizes (the restore then counts entries)', async () => {
    const toc = await tocOf(archives.file);
    const other = join(dir, 'not-an-archive.dump');
    writeFileSync(other, 'PGDMP but not really');
    assert.equal(archiveDataSizes(other, toc), undefined);
    const pipeToc = await tocOf(archives.pipe);
    // Another archive's entries (different dumpIds or kinds) are refused, not guessed.
    const shifted: Toc = { ...pipeToc, entries: pipeToc.entries.map((e) => ({ ...e, dumpId: e.dumpId + 1000 })) };
    assert.equal(archiveDataSizes(archives.file, shifted), undefined);
  });

  it('hydra-migrate restore --progress json, without the source: by bytes, never going back, ending at 100', async () => {
    await pg17.sql('CREATE DATABASE weighed TEMPLATE template0');
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'restore',
        '--target',
        `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/weighed?sslmode=disable`,
        '--in',
        archives.file,
        '--progress',
        'json',
      ],
      { env: { ...process.env, HYDRA_PG_BIN_DIR: PG15_TOOLS, HYDRA_TARGET_PASSWORD: pg17.adminPassword }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{"phase"'))
      .map((l) => JSON.parse(l) as ProgressEvent);
    assert.ok(events.length >= 2, r.stderr);
    const size = statSync(archives.file).size;
    for (const e of events)
      assert.ok(e.bytesTotal !== null && e.bytesTotal > 0.9 * size, `weighed by the archive's data: ${JSON.stringify(e)}`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.percent >= events[i - 1]!.percent, 'never back');
    assert.equal(events.at(-1)!.percent, 100);
    // Weighed by bytes: the big table holds most of the data, so the bar stands between the start and the end while it loads.
    assert.ok(
      events.some((e) => e.percent > 0 && e.percent < 100),
      JSON.stringify(events),
    );
    const { rows } = await pg17.sql('SELECT count(*)::int AS n FROM public.big', 'weighed');
    assert.equal(rows[0].n, 1200000);
  });
});
