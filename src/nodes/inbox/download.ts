import path from 'node:path';

/** `<dir>/.<name>.part`: hidden, and never the name a reader looks for. */
export function partialPathOf(destPath: string): string {
  return path.join(path.dirname(destPath), `.${path.basename(destPath)}.part`);
}

/** A file name made only of safe characters, so an odd messageId cannot reach outside the folder. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned || '_';
}
