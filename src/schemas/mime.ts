/**
 * The IP's own extension → MIME type table (MimeTypeExtensionMapper). The IP uses it for uploads without a usable
 * Content-Type, with application/pdf for anything not listed.
 */
export const IP_MIME_TYPES: Readonly<Record<string, string>> = {
  pdf: 'application/pdf',
  html: 'text/html',
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
  fods: 'application/vnd.oasis.opendocument.spreadsheet',
  fodp: 'application/vnd.oasis.opendocument.presentation',
  fodg: 'application/vnd.oasis.opendocument.graphics',
  gif: 'image/gif',
  jpeg: 'image/jpeg',
  png: 'image/png',
  zip: 'application/octet-stream',
};

/** The IP's table plus the usual spellings of the same types, for naming files we send or receive. */
export const COMMON_MIME_TYPES: Readonly<Record<string, string>> = {
  ...IP_MIME_TYPES,
  htm: 'text/html',
  json: 'application/json',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  odg: 'application/vnd.oasis.opendocument.graphics',
  jpg: 'image/jpeg',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  zip: 'application/zip',
};

/** The lower-case text after the last dot of a file name, or '' when there is none. */
export function fileExtension(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot < 0 ? '' : filename.slice(dot + 1).toLowerCase();
}

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/**
 * The MIME type for a file name by its extension (case-insensitive), or application/octet-stream when unknown
 * (the IP then derives the type from the extension itself, defaulting to application/pdf).
 */
export function guessMimeType(filename: string): string {
  return COMMON_MIME_TYPES[fileExtension(filename)] ?? DEFAULT_MIME_TYPE;
}
