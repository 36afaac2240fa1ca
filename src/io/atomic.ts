// Crash-safe file output: a reader sees either the old file or the whole new one, never a torn
// write, and an input file of the same run is never overwritten.

import { randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { lstat, open, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { fileKind, fileProblem } from './read.ts';

/**
 * Throws when `out` names the same file as one of `inputs` (same path after resolution, or the same
 * inode through a symlink or hard link), so that a command never destroys the data it reads.
 */
export function assertNotInput(out: string, inputs: readonly string[]): void {
  const outStat = quietStat(out);
  for (const input of inputs) {
    const inStat = quietStat(input);
    const sameFile =
      outStat !== undefined && inStat !== undefined
        ? outStat.dev === inStat.dev && outStat.ino === inStat.ino
        : resolve(out) === resolve(input);
    if (sameFile) {
      throw new InputError(`refusing to write ${out}: it is the same file as the input ${input}`);
    }
  }
}

/**
 * Checks, before any work, that `out` can be written: not an input, not anything but a regular
 * file (a device, a FIFO, a directory, or a symlink to one of those is refused: a rename would
 * replace it), and in an existing, writable directory. With `createDirectory`, the directory may
 * be missing when its parent is writable (it is made on writing). Throws an InputError.
 */
export function checkOutputPath(out: string, inputs: readonly string[] = [], createDirectory = false): void {
  assertNotInput(out, inputs);
  let link: Stats | undefined;
  let target: Stats | undefined;
  try {
    link = lstatSync(out, { throwIfNoEntry: false });
    target = link?.isSymbolicLink() ? statSync(out, { throwIfNoEntry: false }) : link;
  } catch (err) {
    // ELOOP (a loop of links), ENOTDIR (a file used as a folder), EACCES...
    throw new InputError(`${out}: cannot write: ${fileProblem(err)}`);
  }
  if (target !== undefined && !target.isFile()) {
    const what = link!.isSymbolicLink() ? `a symbolic link to ${fileKind(target)}` : fileKind(target);
    throw new InputError(`${out}: cannot write: it is ${what}; nettrim only replaces regular files`);
  }
  const dir = dirname(target !== undefined ? realpathSync(out) : resolve(out));
  const dirInfo = statSync(dir, { throwIfNoEntry: false });
  if (dirInfo === undefined && createDirectory) {
    checkDirectory(out, dirname(dir));
    return;
  }
  checkDirectory(out, dir);
}

function checkDirectory(out: string, dir: string): void {
  let info: Stats | undefined;
  try {
    info = statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    throw new InputError(`${out}: cannot write: ${fileProblem(err)} (directory ${dir})`);
  }
  if (info === undefined) throw new InputError(`${out}: cannot write: directory ${dir} does not exist`);
  if (!info.isDirectory()) throw new InputError(`${out}: cannot write: ${dir} is ${fileKind(info)}, not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new InputError(`${out}: cannot write: ${fileProblem(err)} in directory ${dir}`);
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
  checkOutputPath(path, inputs);
  // Write through a symlink to a regular file rather than replacing the link itself.
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
    await assertReplaceable(target); // it may have changed since the check before the work
    await rename(temp, target);
  } catch (err) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    if (err instanceof InputError) throw err;
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

/** stat that follows links, or undefined when the path cannot be resolved (missing, a loop...). */
function quietStat(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Refuses (InputError) when `target` now exists as anything but a regular file. */
async function assertReplaceable(target: string): Promise<void> {
  const info = await lstat(target).catch(() => undefined);
  if (info !== undefined && !info.isFile()) {
    throw new InputError(`${target}: cannot write: it is now ${fileKind(info)}; nettrim only replaces regular files`);
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
function writeError(path: string, dir: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT' ? `directory ${dir} does not exist`
    : code === 'ENOTDIR' ? `a component of ${dir} is not a directory`
    : code === 'EACCES' || code === 'EPERM' ? `permission denied in ${dir}`
    : code === 'EISDIR' ? 'it is a directory'
    : code === 'ENOSPC' ? 'no space left on the device'
    : fileProblem(err);
  // Not a bug of ours: a message without a stack, like any other problem the user can fix.
  const wrapped = new InputError(`${path}: cannot write: ${reason}`, { cause: err });
  if (code !== undefined) (wrapped as NodeJS.ErrnoException).code = code;
  return wrapped;
}
