import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryArtifactStore, readArtifact, removeFileArtifact } from './artifacts.js';
import type { PrismaClient } from '../../prisma/src/client.js';

describe('artifacts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lopper-artifacts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const noDb = {} as PrismaClient; // file: URIs never touch the database

  it('reads back by URI what a directory store wrote, content-addressed', async () => {
    const store = new DirectoryArtifactStore(dir);
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const uri = await store.put('trial-model', bytes);
    expect(uri).toMatch(/^file:.*trial-model-[0-9a-f]{64}\.bin$/);
    expect(await store.put('trial-model', bytes)).toBe(uri);
    expect(Array.from(await readArtifact(uri, noDb))).toEqual([1, 2, 3, 250]);
  });

  it('says why an artifact cannot be read', async () => {
    await expect(readArtifact(`file:${join(dir, 'gone.bin')}`, noDb)).rejects.toThrow(`artifact not found: file:${join(dir, 'gone.bin')} (a worker with LOPPER_ARTIFACTS=dir:… stored it; this process cannot see that file)`);
    await expect(readArtifact('s3://bucket/x', noDb)).rejects.toThrow('unknown artifact URI scheme: s3://bucket/x');
  });

  it('removes a file artifact only once past the grace period, counting a second store as a new one', async () => {
    const store = new DirectoryArtifactStore(dir);
    const uri = await store.put('pruned', new Uint8Array(100).fill(7));
    const path = uri.slice('file:'.length);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(path, hourAgo, hourAgo);
    expect(removeFileArtifact(uri, 2 * 3600_000)).toBeNull(); // stored within the last 2 hours: put back where it was
    expect(readFileSync(path)).toEqual(Buffer.from(new Uint8Array(100).fill(7)));
    expect(readdirSync(dir).every((f) => f.endsWith('.bin'))).toBe(true); // nothing left aside
    await store.put('pruned', new Uint8Array(100).fill(7)); // the same bytes again: a row may be about to reference them
    expect(statSync(path).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(removeFileArtifact(uri, 1800_000)).toBeNull();
    utimesSync(path, hourAgo, hourAgo);
    expect(removeFileArtifact(uri, 1800_000)).toBe(100);
    expect(existsSync(path)).toBe(false);
    expect(removeFileArtifact(uri, 0)).toBeNull(); // gone, or another machine's directory
    expect(readdirSync(dir).every((f) => f.endsWith('.bin'))).toBe(true);
    expect(await store.put('pruned', new Uint8Array(100).fill(7))).toBe(uri); // collected bytes stored again: a new file
    expect(statSync(path).size).toBe(100);
    expect(() => removeFileArtifact('pg:artifact/abc', 0)).toThrow('not a file artifact: pg:artifact/abc');
  });
});
