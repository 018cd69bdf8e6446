/**
 * MIME types by file extension: the IP's own table (MimeTypeExtensionMapper) plus the usual spellings of the same
 * types (jpg, htm, ods, odp, odg). The IP maps `.zip` to application/octet-stream; we send application/zip.
 */
const MIME_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  html: 'text/html',
  htm: 'text/html',
  txt: 'text/plain',
  xml: 'text/xml',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xltx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.template',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odf: 'application/vnd.oasis.opendocument.formula',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  fods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  fodp: 'application/vnd.oasis.opendocument.presentation',
  odg: 'application/vnd.oasis.opendocument.graphics',
  fodg: 'application/vnd.oasis.opendocument.graphics',
  gif: 'image/gif',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  zip: 'application/zip',
};

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/**
 * The MIME type for a file name by its extension (case-insensitive), or application/octet-stream when unknown
 * (the IP then derives the type from the extension itself, defaulting to application/pdf).
 */
export function guessMimeType(filename: string): string {
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return DEFAULT_MIME_TYPE;
  return MIME_TYPES[filename.slice(dot + 1).toLowerCase()] ?? DEFAULT_MIME_TYPE;
}
