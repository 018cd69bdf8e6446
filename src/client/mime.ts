import { COMMON_MIME_TYPES, fileExtension } from '../schemas/mime';

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/**
 * The MIME type for a file name by its extension (case-insensitive), or application/octet-stream when unknown
 * (the IP then derives the type from the extension itself, defaulting to application/pdf).
 */
export function guessMimeType(filename: string): string {
  return COMMON_MIME_TYPES[fileExtension(filename)] ?? DEFAULT_MIME_TYPE;
}
