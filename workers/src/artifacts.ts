/** Where model artifacts live: Postgres (default; any worker can fetch them) or a local directory. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PrismaClient } from '../../prisma/src/client.js';

export interface ArtifactStore {
  /** Stores bytes under a content address and returns its URI (idempotent). */
  put(kind: string, bytes: Uint8Array): Promise<string>;
  get(uri: string): Promise<Uint8Array>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export class PostgresArtifactStore implements ArtifactStore {
  constructor(private readonly prisma: PrismaClient) {}

  async put(kind: string, bytes: Uint8Array): Promise<string> {
    const hash = sha256(bytes);
    const uri = `pg:artifact/${hash}`;
    // Touching storedAt keeps garbage collection off bytes a row is about to reference (the same bytes stored again).
    await this.prisma.artifact.upsert({
      where: { uri },
      create: { uri, kind, bytes: Buffer.from(bytes), sizeBytes: bytes.length, sha256: hash },
      update: { storedAt: new Date() },
    });
    return uri;
  }

  async get(uri: string): Promise<Uint8Array> {
    const row = await this.prisma.artifact.findUnique({ where: { uri } });
    if (!row) throw new Error(`artifact not found: ${uri}`);
    return row.bytes;
  }
}

export class DirectoryArtifactStore implements ArtifactStore {
  private readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  async put(kind: string, bytes: Uint8Array): Promise<string> {
    const name = `${kind}-${sha256(bytes)}.bin`;
    const path = join(this.dir, name);
    if (existsSync(path)) {
      // As PostgresArtifactStore.put: a new mtime keeps collection off bytes a row is about to reference. ENOENT: it was
      // collected (moved away) meanwhile; write it again.
      try {
        const now = new Date();
        utimesSync(path, now, now);
        return `file:${path}`;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path); // never a half-written artifact
    return `file:${path}`;
  }

  async get(uri: string): Promise<Uint8Array> {
    return readFileArtifact(uri);
  }
}

/** The path a file: URI names. */
function filePath(uri: string): string {
  if (!uri.startsWith('file:')) throw new Error(`not a file artifact: ${uri}`);
  return uri.slice('file:'.length);
}

function readFileArtifact(uri: string): Uint8Array {
  const path = filePath(uri);
  if (!existsSync(path)) throw new Error(`artifact not found: ${uri} (a worker with LOPPER_ARTIFACTS=dir:… stored it; this process cannot see that file)`);
  return readFileSync(path);
}

/**
 * Removes a file: artifact if this process can see it and it was not stored (written or stored again) within the last
 * `graceMs`. The caller has checked that no row references it. Returns the bytes freed, or null where it stayed.
 */
export function removeFileArtifact(uri: string, graceMs: number, now = Date.now()): number | null {
  const path = filePath(uri);
  // Moved aside first, then judged by its mtime: a worker's put either touched it before the move (it goes back) or
  // finds it gone and writes it again.
  const aside = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.gc`;
  try {
    renameSync(path, aside);
  } catch {
    return null; // another machine's directory, or already gone
  }
  const st = statSync(aside);
  if (st.mtimeMs > now - graceMs) {
    try { linkSync(aside, path); } catch { /* written again meanwhile */ }
    unlinkSync(aside);
    return null;
  }
  unlinkSync(aside);
  return st.size;
}

/** Reads an artifact by the URI either store returned (pg: or file:), whichever store this process was given. */
export async function readArtifact(uri: string, prisma: PrismaClient): Promise<Uint8Array> {
  if (uri.startsWith('pg:')) return new PostgresArtifactStore(prisma).get(uri);
  if (uri.startsWith('file:')) return readFileArtifact(uri);
  throw new Error(`unknown artifact URI scheme: ${uri}`);
}

/** LOPPER_ARTIFACTS: `postgres` (default) or `dir:/some/path`. */
export function createArtifactStore(setting: string | undefined, prisma: PrismaClient): ArtifactStore {
  if (!setting || setting === 'postgres') return new PostgresArtifactStore(prisma);
  if (setting.startsWith('dir:')) return new DirectoryArtifactStore(setting.slice(4));
  throw new Error(`LOPPER_ARTIFACTS must be "postgres" or "dir:<path>", got "${setting}"`);
}
