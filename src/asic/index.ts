export { openAsic, readAsicDocuments, saveStreamToTempFile, AsicError, DEFAULT_MAX_DOCUMENT_BYTES } from './read';
export type { AsicArchive, AsicEntry, AsicDocument, AsicErrorCode } from './read';
