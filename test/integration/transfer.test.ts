/**
 * Transfer Dump against a real OpenSSH server on 127.0.0.1 with key authentication: rsync and scp,
 * files and directory archives, the sha256 compared on the far side, and the failures explained.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { transfer } from '../../src/core/transfer.js';
import { freePort } from '../helpers/servers.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';

describe('transfer over ssh', { skip: process.env.CI ? false : sshdUnavailable() }, () => {
  let sshd: TestSshd;
  let dir: string;
  let file: string;
  let folder: string;

  before(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'hm-transfer-'));
    file = join(dir, 'shop 2026.dump');
    writeFileSync(file, Buffer.alloc(3_000_000, 7));
    folder = join(dir, 'shop.dir');
    mkdirSync(folder);
    writeFileSync(join(folder, 'toc.dat'), 'toc');
    writeFileSync(join(folder, '3001.dat.gz'), Buffer.alloc(100_000, 1));
  });
  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.identityFile,
    knownHostsFile: sshd.knownHostsFile,
  });

  it('rsync copies a file archive into a new remote folder and verifies its sha256', async () => {
    const remoteDir = join(dir, 'remote', 'incoming dir');
    const r = await transfer({ ...base(), archive: file, remoteDir, tool: 'rsync' });
    assert.ok(r.ok, r.failure?.message);
    assert.equal(r.verified, true, r.verifyNote);
    assert.deepEqual(readFileSync(join(remoteDir, 'shop 2026.dump')), readFileSync(file));
    assert.match(r.command, /^rsync --archive --partial --info=progress2 -e 'ssh -p \d+ -o BatchMode=yes/);
  });

  it('scp copies a directory archive and verifies every file', async () => {
    const remoteDir = join(dir, 'remote-scp');
    const r = await transfer({ ...base(), archive: folder, remoteDir, tool: 'scp' });
    assert.ok(r.ok, r.failure?.message);
    assert.equal(r.verified, true);
    assert.match(r.verifyNote ?? '', /2 file\(s\) identical/);
    assert.ok(existsSync(join(remoteDir, 'shop.dir', '3001.dat.gz')));
  });

  it('a key the server does not accept is explained', async () => {
    const r = await transfer({
      ...base(),
      identityFile: sshd.wrongIdentityFile,
      archive: file,
      remoteDir: join(dir, 'nope'),
      tool: 'rsync',
    });
    assert.equal(r.ok, false);
    assert.equal(r.failure?.problem, 'ssh_auth');
    assert.match(r.failure.hint, /authorized_keys/);
  });

  it('an unknown host key is refused (never accepted silently), with how to check the fingerprint', async () => {
    const empty = join(dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const remoteDir = join(dir, 'never');
    const r = await transfer({ ...base(), knownHostsFile: empty, archive: file, remoteDir, tool: 'rsync' });
    assert.equal(r.ok, false);
    assert.equal(r.failure?.problem, 'host_key');
    assert.match(r.failure.message, /is not known here/);
    assert.match(r.failure.hint, /ssh-keyscan/);
    assert.ok(!existsSync(remoteDir), 'nothing was created on the far side');
    assert.equal(readFileSync(empty, 'utf8'), '', 'the key was not added');
  });

  it('a remote folder that belongs to another user is refused; the folder made is private', async () => {
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs);
    const { execFileSync } = await import('node:child_process');
    execFileSync('chown', ['postgres', theirs]);
    const r = await transfer({ ...base(), archive: file, remoteDir: theirs, tool: 'scp' });
    assert.equal(r.ok, false);
    assert.equal(r.failure?.problem, 'path');
    assert.match(r.failure.message, /could not be made private/);
    const mine = join(dir, 'mine', 'new');
    const ok = await transfer({ ...base(), archive: file, remoteDir: mine, tool: 'scp' });
    assert.ok(ok.ok, ok.failure?.message);
    assert.equal((statSync(mine).mode & 0o777).toString(8), '700');
  });

  it('remote paths with spaces, quotes and $() reach the far side as they are', async () => {
    const remoteDir = join(dir, `it's a "dir" $(touch ${join(dir, 'pwned')})`);
    for (const tool of ['rsync', 'scp'] as const) {
      const r = await transfer({ ...base(), archive: file, remoteDir, tool });
      assert.ok(r.ok, `${tool}: ${r.failure?.message}`);
      assert.ok(existsSync(join(remoteDir, 'shop 2026.dump')), tool);
    }
    assert.ok(!existsSync(join(dir, 'pwned')), 'nothing in the path was run by a shell');
  });

  it('a copy whose sha256 could not be checked on the far side is not reported as good', async () => {
    const remoteDir = join(dir, 'unverifiable');
    const r = await transfer({
      ...base(),
      archive: file,
      remoteDir,
      tool: 'scp',
      // The copy is complete; then the remote file goes away before sha256sum runs there.
      onProgress: (p) => {
        if (p.done === 100) rmSync(join(remoteDir, 'shop 2026.dump'), { force: true });
      },
    });
    assert.equal(r.ok, false);
    assert.equal(r.verified, false);
    assert.match(r.failure?.message ?? '', /could not be verified/);
  });

  it('nothing listening is explained', async () => {
    const r = await transfer({ ...base(), port: await freePort(), archive: file, remoteDir: join(dir, 'nope'), tool: 'scp' });
    assert.equal(r.failure?.problem, 'refused');
  });
});
