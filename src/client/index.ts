export { IntegrasjonspunktClient, USER_AGENT, queryString } from './client';
export { IntegrasjonspunktError, type IntegrasjonspunktErrorInit } from './errors';
export {
  buildMultipart,
  checkMultipartSizes,
  contentDisposition,
  asciiFallback,
  encodeRfc5987,
  resolveUploadFile,
  MULTIPART_MAX_FILE_BYTES,
  READ_CHUNK_BYTES,
  type MultipartBody,
  type ResolvedFile,
} from './multipart';
export { saveStreamToFile, SaveFileError } from './download';
export { TooLargeError } from './file-sink';
export * from './types';
