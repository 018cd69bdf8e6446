export { buildSbd, toIdentifier, describeValue, DEFAULT_TYPE_VERSION } from './build';
export type { SbdInput } from './build';
export {
  buildArkivmeldingXml,
  parseArkivmeldingXml,
  ArkivmeldingInputSchema,
  ARKIVMELDING_NAMESPACE,
  ARKIVMELDING_FILENAME,
  DEFAULT_ARKIVMELDING_SYSTEM,
  JOURNALPOSTTYPER,
  JOURNALSTATUSER,
  SAKSSTATUSER,
  KORRESPONDANSEPARTTYPER,
} from './arkivmelding';
export type {
  ArkivmeldingInput,
  ArkivmeldingFile,
  ArkivmeldingSummary,
  ArkivmeldingDocument,
  ArkivmeldingFields,
  ArkivmeldingValue,
} from './arkivmelding';
export { offsetDateTime, localDate } from './datetime';
