// Crash-safe file output: a reader sees either the old file or the whole new one, never a torn
// write, and an input file of the same run is never overwritten.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Throws when `out` names the same file as one of `inputs` (same path after resolution, or the same
 * inode through a symlink or hard link), so that a command never destroys the data it reads.
 */
export function assertNotInput(out: string, inputs: readonly string[]): void {
  const outStat = statSync(out, { throwIfNoEntry: false });
  for (const input of inputs) {
    const inStat = statSync(input, { throwIfNoEntry: false });
    const sameFile =
      outStat !== undefined && inStat !== undefined
        ? outStat.dev === inStat.dev && outStat.ino === inStat.ino
        : resolve(out) === resolve(input);
    if (sameFile) {
      throw new Error(`refusing to write ${out}: it is the same file as the input ${input}`);
    }
  }
}

/**
 * Writes `bytes` to `path` atomically: into a fresh temporary file beside the target, flushed to
 * disk, then renamed over it (rename is atomic within one directory on POSIX and NTFS). On any
 * error the temporary file is removed and the target is left as it was. When `inputs` is given,
 * refuses first to write over any of them (see assertNotInput).
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | string,
  inputs: readonly string[] = [],
): Promise<void> {
  assertNotInput(path, inputs);
  // Write through a symlink rather than replacing the link itself with a regular file.
  const target = await resolveExisting(path);
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    // 'wx' never opens an existing file, so a name collision cannot clobber anything.
    handle = await open(temp, 'wx', await modeToKeep(target));
    await handle.writeFile(bytes);
    await handle.sync(); // the data must be on disk before the rename makes it visible
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (err) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw writeError(path, dir, err);
  }
  await syncDirectory(dir);
}

/** The real path of an existing file (following symlinks), or the path itself for a new file. */
async function resolveExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** Replacing a file must not change who may read it: reuse the old permission bits if any. */
async function modeToKeep(target: string): Promise<number> {
  try {
    return (await stat(target)).mode & 0o7777;
  } catch {
    return 0o666; // as for any new file, narrowed by the umask
  }
}

/** Persists the rename itself; best effort, since some platforms cannot open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some file systems refuse: the rename is still atomic, only less durable.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Names the target (not the temporary file that Node's message would show) and the cause. */
function writeError(path: string, dir: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT' ? `directory ${dir} does not exist`
    : code === 'ENOTDIR' ? `a component of ${dir} is not a directory`
    : code === 'EACCES' || code === 'EPERM' ? `permission denied in ${dir}`
    : code === 'EISDIR' ? 'it is a directory'
    : code === 'ENOSPC' ? 'no space left on the device'
    : err instanceof Error ? err.message
    : String(err);
  const wrapped = new Error(`${path}: cannot write: ${reason}`, { cause: err });
  if (code !== undefined) (wrapped as NodeJS.ErrnoException).code = code;
  return wrapped;
}
