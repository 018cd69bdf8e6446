/** The process areas of arkivmelding (urn:no:difi:profile:arkivmelding:<area>:ver1.0). */
export const ARKIVMELDING_AREAS = [
  'administrasjon',
  'planByggOgGeodata',
  'helseSosialOgOmsorg',
  'oppvekstOgUtdanning',
  'kulturIdrettOgFritid',
  'trafikkReiserOgSamferdsel',
  'naturOgMiljoe',
  'naeringsutvikling',
  'skatterOgAvgifter',
  'tekniskeTjenester',
  'taushetsbelagt',
] as const;

export function arkivmeldingProcess(area: string): string {
  return `urn:no:difi:profile:arkivmelding:${area}:ver1.0`;
}

/** Processes offered as suggestions in the editor (any other process URN may be typed). */
export const KNOWN_PROCESSES: readonly string[] = [
  ...ARKIVMELDING_AREAS.map(arkivmeldingProcess),
  'urn:no:difi:profile:arkivmelding:response:ver1.0',
  'urn:no:difi:profile:avtalt:avtalt:ver1.0',
  'urn:no:difi:profile:digitalpost:info:ver1.0',
  'urn:no:difi:profile:digitalpost:vedtak:ver1.0',
  'urn:no:difi:profile:einnsyn:innsynskrav:ver1.0',
  'urn:no:difi:profile:einnsyn:journalpost:ver1.0',
  'urn:no:difi:profile:einnsyn:meeting:ver1.0',
  'urn:no:difi:profile:helse:helse:ver1.0',
];

/** Document types offered as suggestions in the editor: the business messages a flow sends. */
export const KNOWN_DOCUMENT_TYPES: readonly string[] = [
  'arkivmelding',
  'arkivmelding_kvittering',
  'avtalt',
  'digital',
  'print',
  'digital_dpv',
  'innsynskrav',
  'publisering',
  'einnsyn_kvittering',
  'dialogmelding',
];
