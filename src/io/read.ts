// Reading input files without surprises: only regular files are read, their size is known (and
// checked by the caller against what the format says) before any data is read, and nothing blocks
// (a FIFO without a writer) or never ends (/dev/zero). Errors are InputErrors in our words.
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../errors.ts';

/** An open regular file and its size, read piece by piece with `read`. */
export class RegularFile {
  private constructor(private readonly handle: FileHandle, readonly path: string, readonly size: number) {}

  /**
   * Opens `path` for reading; refuses anything but a regular file (directory, device, FIFO,
   * socket), naming the file and `what` it should have been ("a .npy file", "the model").
   */
  static async open(path: string, what: string): Promise<RegularFile> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting forever.
      handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch (err) {
      throw new InputError(`${path}: cannot read ${what}: ${fileProblem(err)}`, { cause: err });
    }
    let info: Stats;
    try {
      info = await handle.stat();
    } catch (err) {
      await handle.close().catch(() => {});
      throw new InputError(`${path}: cannot read ${what}: ${fileProblem(err)}`, { cause: err });
    }
    if (!info.isFile()) {
      await handle.close().catch(() => {});
      throw new InputError(`${path}: ${what} must be a regular file, but this is ${fileKind(info)}`);
    }
    return new RegularFile(handle, path, info.size);
  }

  /** Exactly `length` bytes from `position`; a file that shrank meanwhile is an InputError. */
  async read(position: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, position + done).catch((err: unknown) => {
        throw new InputError(`${this.path}: cannot read: ${fileProblem(err)}`, { cause: err });
      });
      if (bytesRead === 0) throw new InputError(`${this.path}: the file became shorter while it was read (${position + done} of ${position + length} bytes)`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

/**
 * The whole of a regular file of at most `maxBytes` bytes (larger ones are refused before reading,
 * `limitReason` saying why the limit exists).
 */
export async function readRegularFile(path: string, what: string, maxBytes: number, limitReason: string): Promise<Uint8Array> {
  const file = await RegularFile.open(path, what);
  try {
    if (file.size > maxBytes) {
      throw new InputError(`${path}: ${what} is ${file.size} bytes, more than ${maxBytes} (${limitReason})`);
    }
    return await file.read(0, file.size);
  } finally {
    await file.close();
  }
}

/** "a directory", "a character device"... for messages. */
export function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return info.isFile() ? 'a regular file' : 'not a regular file';
}

/** A file-system error in words, without Node's raw "ELOOP: too many symbolic links..." text. */
export function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'ELOOP': return 'the path goes round a loop of symbolic links';
    case 'ENAMETOOLONG': return 'the path is too long';
    case 'EMFILE': case 'ENFILE': return 'too many open files';
    case 'ENXIO': return 'no such device';
    case 'EIO': return 'input/output error from the device';
    case 'ERR_FS_FILE_TOO_LARGE': return 'the file is too large to read into memory';
    default: return code ? `the system refused (${code})` : 'the system refused';
  }
}
