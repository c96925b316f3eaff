import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryArtifactStore, readArtifact } from './artifacts.js';
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
});
