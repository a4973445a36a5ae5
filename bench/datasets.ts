/** The benchmarks' generated datasets (bench/migration.ts, bench/estimate.ts). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PG15_TOOLS, type TestServer } from '../test/helpers/servers.js';

export interface BenchDataset {
  title: string;
  build: (db: string) => Promise<void>;
}

/** The generated datasets of the benchmarks, built in database `db` of `source` (env: libpq variables for pgbench). */
export function benchDatasets(source: TestServer, env: () => NodeJS.ProcessEnv): Record<string, BenchDataset> {
  return {
    a: {
      title: 'one dominant table: pgbench -i -s 50',
      build: (db) => {
        const r = spawnSync(join(PG15_TOOLS, 'pgbench'), ['-i', '-s', '50', '-q', db], { env: env(), stdio: 'ignore' });
        return r.status === 0 ? Promise.resolve() : Promise.reject(new Error('pgbench -i failed'));
      },
    },
    b: {
      title: 'many tables: 400 tables of 1k-25k rows, a primary key and a secondary index each',
      build: async (db) => {
        await source.sql(
          `DO $$ BEGIN FOR i IN 1..400 LOOP
           EXECUTE format('CREATE TABLE t%s (id bigint PRIMARY KEY, k int, v text, ts timestamptz)', i);
           EXECUTE format('INSERT INTO t%s SELECT g, g %% 1000, md5(g::text), now() FROM generate_series(1, %s) g', i, 1000 + (i * 7919) % 24001);
           EXECUTE format('CREATE INDEX ON t%s (k)', i);
         END LOOP; END $$`,
          db,
        );
      },
    },
    c: {
      title: 'Hydra-shaped: 2 columnar tables (2M rows), a table partitioned by month (12 x 100k rows), 500 large objects, 20 sequences',
      build: async (db) => {
        await source.sql(
          `CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
         CREATE TABLE events (id bigint, at timestamptz, kind text, payload jsonb) USING columnar;
         INSERT INTO events SELECT g, timestamptz '2026-01-01' + g * interval '1 s', 'k' || (g % 20), jsonb_build_object('n', g) FROM generate_series(1, 1000000) g;
         CREATE TABLE metrics (id bigint, v double precision, tags text[]) USING columnar;
         INSERT INTO metrics SELECT g, random(), ARRAY['a' || (g % 7), 'b' || (g % 11)] FROM generate_series(1, 1000000) g;
         CREATE TABLE readings (id bigint, day date NOT NULL, v numeric(12,3), PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
         DO $$ BEGIN FOR m IN 1..12 LOOP
           EXECUTE format('CREATE TABLE readings_%s PARTITION OF readings FOR VALUES FROM (%L) TO (%L)', m,
                          make_date(2026, m, 1), make_date(2026, m, 1) + interval '1 month');
         END LOOP; END $$;
         INSERT INTO readings SELECT g, date '2026-01-01' + (g % 365), g / 7.0 FROM generate_series(1, 1200000) g;
         SELECT lo_from_bytea(0, convert_to(repeat(md5(g::text), 200), 'UTF8')) FROM generate_series(1, 500) g;
         DO $$ BEGIN FOR i IN 1..20 LOOP EXECUTE format('CREATE SEQUENCE seq_%s START %s', i, i * 1000); END LOOP; END $$;
         ANALYZE;`,
          db,
        );
      },
    },
  };
}
