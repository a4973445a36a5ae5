/** The time estimate's arithmetic: phases by plan, what history teaches, how it reads, a damaged history file. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeEstimate, EstimateHistory, estimateMigration, learnedFactors, roughDuration } from '../../src/core/estimate.js';
import { choosePlan, type DataShape } from '../../src/core/plan.js';
import type { Side } from '../../src/core/side.js';

const MB = 1024 * 1024;
const sample = { table: 'public.big', bytes: 48 * MB, textBytes: 60 * MB, seconds: 0.2, bytesPerSecond: 240 * MB };
const dominant: DataShape = {
  tables: 4,
  dataBytes: 640 * MB,
  indexBytes: 107 * MB,
  largest: { name: 'public.big', bytes: 600 * MB },
  largestIndexes: { name: 'public.big', bytes: 107 * MB },
};
const many: DataShape = {
  tables: 400,
  dataBytes: 617 * MB,
  indexBytes: 230 * MB,
  largest: { name: 'public.t1', bytes: 3 * MB },
  largestIndexes: { name: 'public.t1', bytes: 1 * MB },
};
const dir = mkdtempSync(join(tmpdir(), 'hm-estimate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('estimateMigration', () => {
  it('a stream overlaps dump and load in one phase; a directory plan splits them and gains from jobs', () => {
    const stream = estimateMigration(choosePlan(dominant, 2), dominant, sample);
    assert.equal(choosePlan(dominant, 2).kind, 'stream');
    assert.ok(stream.seconds.dump > 0 && stream.seconds.restore === 0, JSON.stringify(stream.seconds));
    const one = estimateMigration(choosePlan(many, 1, 'directory'), many, sample);
    const two = estimateMigration(choosePlan(many, 2, 'directory'), many, sample);
    assert.ok(two.seconds.restore < one.seconds.restore * 0.75, 'two jobs on 400 similar tables restore faster');
    assert.ok(two.seconds.restore > one.seconds.restore * 0.5, 'but not more than twice as fast');
    const total = two.seconds.dump + two.seconds.restore + two.seconds.analyze;
    assert.ok(Math.abs(two.totalSeconds - total) < 1e-9);
  });

  it('the dominant table loaded by 2 sessions: a shorter dump-and-load phase, its indexes afterwards', () => {
    const heap: DataShape = { ...dominant, largest: { ...dominant.largest!, oid: 16400, heap: true } };
    const split = choosePlan(heap, 2);
    assert.equal(split.split?.sessions, 2);
    const one = estimateMigration(choosePlan(dominant, 2), dominant, sample);
    const two = estimateMigration(split, heap, sample);
    assert.ok(two.seconds.restore > 0, 'the indexes come after the load');
    const loadOnly = (e: typeof one, indexes: number): number => e.seconds.dump - indexes;
    assert.ok(loadOnly(two, 0) < loadOnly(one, two.seconds.restore), JSON.stringify({ one: one.seconds, two: two.seconds }));
    assert.ok(two.totalSeconds < one.totalSeconds);
  });

  it('twice the data takes about twice as long; a server twice as fast, half as long', () => {
    const base = estimateMigration(choosePlan(dominant, 2), dominant, sample).totalSeconds;
    const bigger = {
      ...dominant,
      dataBytes: 2 * dominant.dataBytes,
      indexBytes: 2 * dominant.indexBytes,
      largest: { name: 'public.big', bytes: 1200 * MB },
    };
    const doubled = estimateMigration(choosePlan(bigger, 2), bigger, sample).totalSeconds;
    assert.ok(doubled > 1.8 * base && doubled < 2.1 * base, `${base} -> ${doubled}`);
    const faster = estimateMigration(choosePlan(dominant, 2), dominant, {
      ...sample,
      bytesPerSecond: 2 * sample.bytesPerSecond,
    }).totalSeconds;
    assert.ok(faster < 0.6 * base, `${base} -> ${faster}`);
  });

  it('history multiplies each phase by what the last runs measured against the model', () => {
    const plan = choosePlan(many, 2);
    const e = estimateMigration(plan, many, sample);
    const factors = learnedFactors(e, { dump: e.seconds.dump * 2, restore: e.seconds.restore / 2, analyze: 0.1 });
    assert.ok(Math.abs(factors.dump! - 2) < 1e-9 && Math.abs(factors.restore! - 0.5) < 1e-9);
    assert.equal(factors.analyze, 0.2, 'clamped: 0.1 s against a model of seconds');
    const corrected = estimateMigration(plan, many, sample, factors);
    assert.equal(corrected.basis, 'sample+history');
    assert.ok(Math.abs(corrected.seconds.dump - 2 * e.seconds.dump) < 1e-9);
    // Learning again from the corrected estimate compares with the model, not with the correction.
    const again = learnedFactors(corrected, { dump: e.seconds.dump * 2 });
    assert.ok(Math.abs(again.dump! - 2) < 1e-9);
  });

  it('reads like a clock, names the phases of the plan and what it rests on', () => {
    assert.equal(roughDuration(4.23), '4.2 s');
    assert.equal(roughDuration(45), '45 s');
    assert.equal(roughDuration(12 * 60), '12 min');
    assert.equal(roughDuration(2 * 3600 + 10 * 60), '2 h 10 min');
    const e = estimateMigration(choosePlan(many, 2), many, sample);
    assert.match(
      describeEstimate(e, false),
      /^about [\d.]+ s: dump [\d.]+ s, restore [\d.]+ s, analyze [\d.]+ s \(from a 0\.2 s sample of public\.big\)$/,
    );
    const s = estimateMigration(choosePlan(dominant, 2), dominant, sample);
    assert.match(describeEstimate(s, true), /: dump and load [\d.]+ s, analyze/);
  });
});

describe('EstimateHistory', () => {
  const side = (port: number): Side => ({
    role: 'source',
    profile: { host: 'db.example', port, database: 'shop', user: 'u', sslmode: 'disable' },
    password: 'secret-pw',
  });
  it('keeps factors per pair of servers, blended, in a private file without names or passwords', () => {
    const file = join(dir, 'a', 'estimates.json');
    const h = new EstimateHistory(file);
    const key = EstimateHistory.key(side(5432), side(6543), 'stream');
    assert.equal(key, 'db.example:5432 -> db.example:6543 (stream)');
    assert.notEqual(EstimateHistory.key(side(5432), side(6543), 'directory'), key, 'a stream teaches nothing about a directory plan');
    assert.equal(h.read(key), undefined);
    h.learn(key, { dump: 2 });
    h.learn(key, { dump: 0.5, restore: 1.5 });
    const read = h.read(key)!;
    assert.ok(Math.abs(read.dump! - 1) < 1e-9, 'the geometric mean of 2 and 0.5');
    assert.equal(read.restore, 1.5);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('secret-pw') && !text.includes('shop'));
  });
  it('a damaged or hand-edited file teaches nothing wrong', () => {
    const file = join(dir, 'b.json');
    writeFileSync(file, '{ not json');
    assert.equal(new EstimateHistory(file).read('x'), undefined);
    writeFileSync(file, JSON.stringify({ x: { dump: 1000, restore: 'fast', analyze: 0.8 } }));
    assert.deepEqual(new EstimateHistory(file).read('x'), { analyze: 0.8 });
  });
});
