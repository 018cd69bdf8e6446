import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DateTime, LocalDate, Uuid } from '../schemas/common';
import { ValidationError } from '../schemas/format';
import { localDate, offsetDateTime } from './datetime';
import { issuesToError } from './issues';
import { childText, childrenNamed, escapeXml, findElement, parseXml, xsiType, type XmlElement } from './xml';

export const ARKIVMELDING_NAMESPACE = 'http://www.arkivverket.no/standarder/noark5/arkivmelding';
export const ARKIVMELDING_FILENAME = 'arkivmelding.xml';
export const DEFAULT_ARKIVMELDING_SYSTEM = 'node-red-contrib-eformidling';

// Code lists of the Noark 5 metadatakatalog used by eFormidling's arkivmelding.xsd.
export const JOURNALPOSTTYPER = [
  'Inngående dokument',
  'Utgående dokument',
  'Organinternt dokument for oppfølging',
  'Organinternt dokument uten oppfølging',
  'Saksframlegg',
] as const;
export const JOURNALSTATUSER = ['Journalført', 'Ferdigstilt fra saksbehandler', 'Godkjent av leder', 'Ekspedert', 'Arkivert', 'Utgår'] as const;
export const SAKSSTATUSER = ['Under behandling', 'Avsluttet', 'Utgår'] as const;
export const KORRESPONDANSEPARTTYPER = ['Avsender', 'Mottaker', 'Kopimottaker', 'Gruppemottaker', 'Intern avsender', 'Intern mottaker'] as const;

const oneOf = (values: readonly string[]) => `expected one of ${values.map((v) => `"${v}"`).join(', ')}`;
const text = (what: string) => z.string({ message: `expected ${what}` }).trim().min(1, { message: `expected ${what}` });
const optionalText = z.string({ message: 'expected text' }).trim().optional();
const textOrList = z.union([z.string(), z.array(z.string())], { message: 'expected text or a list of texts' }).optional();
const wholeNumber = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  z.number({ message: 'expected a whole number' }).int({ message: 'expected a whole number' }).nonnegative({ message: 'expected a whole number' }),
);
const date = z.union([LocalDate, z.date()], { message: 'expected a date as yyyy-MM-dd' });
const dateTime = z.union([DateTime, z.date()], { message: 'expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00' });
const guid = z.string().pipe(Uuid);
/** A strict object whose "not an object" error says what was expected. */
function record<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  return z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? `expected ${what}` : undefined) });
}
const listOf = <T extends z.ZodType>(item: T, what: string) => z.array(item, { message: `expected a list of ${what}` });

const Korrespondansepart = record({
  korrespondanseparttype: z.enum(KORRESPONDANSEPARTTYPER, { message: oneOf(KORRESPONDANSEPARTTYPER) }).optional(),
  korrespondansepartNavn: text("the party's name"),
  postadresse: textOrList,
  postnummer: optionalText,
  poststed: optionalText,
  land: optionalText,
  epostadresse: optionalText,
  telefonnummer: textOrList,
  kontaktperson: optionalText,
  administrativEnhet: optionalText,
  saksbehandler: optionalText,
}, 'an object such as { "korrespondansepartNavn": "Testkommune" }');

const Klassifikasjon = record({
  referanseKlassifikasjonssystem: text('the classification system, e.g. "Funksjoner"'),
  klasseID: text('the class id'),
  tittel: optionalText,
}, 'an object such as { "referanseKlassifikasjonssystem": "Funksjoner", "klasseID": "223" }');

/**
 * The JSON a flow gives as `msg.arkivmelding` to generate `arkivmelding.xml` (Noark 5 arkivmelding as used by
 * eFormidling). Only `tittel` is required; everything else has a default. Unknown fields are rejected, so a typo
 * does not silently drop archive data.
 *
 * ```json
 * {
 *   "tittel": "Vedtak om tilskudd",                 // required: title of the journalpost (and of the case, unless saksmappe.tittel)
 *   "offentligTittel": "Vedtak om tilskudd",        // public title (shown as the conversation's messageTitle)
 *   "system": "node-red-contrib-eformidling",       // sending system; also the default for opprettetAv
 *   "meldingId": "…",                               // default: a new UUID
 *   "tidspunkt": "2025-06-03T09:12:40+02:00",       // default: now
 *   "opprettetAv": "Kari Nordmann",                 // default: system
 *   "dokumenttype": "Brev",                         // default "Brev", for every document
 *   "saksmappe": {
 *     "systemID": "UUID", "mappeID": "2025/118", "tittel": "Tilskudd 2025", "offentligTittel": "…",
 *     "saksaar": 2025, "sakssekvensnummer": 118, "saksdato": "2025-06-03",
 *     "administrativEnhet": "Kultur", "saksansvarlig": "Kari Nordmann", "journalenhet": "SENTRAL",
 *     "saksstatus": "Under behandling",             // or "Avsluttet", "Utgår"
 *     "klassifikasjon": [ { "referanseKlassifikasjonssystem": "Funksjoner", "klasseID": "223", "tittel": "…" } ]
 *   },
 *   "journalpost": {
 *     "systemID": "UUID", "tittel": "…", "offentligTittel": "…",
 *     "journalaar": 2025, "journalsekvensnummer": 4711, "journalpostnummer": 4,
 *     "journalposttype": "Utgående dokument",       // default; or "Inngående dokument", "Organinternt dokument for oppfølging", …
 *     "journalstatus": "Journalført",               // default; or "Ekspedert", "Arkivert", …
 *     "journaldato": "2025-06-03", "dokumentetsDato": "2025-06-03", "sendtDato": "2025-06-03T09:12:40+02:00",
 *     "forfallsdato": "2025-07-01", "journalenhet": "SENTRAL",
 *     "korrespondansepart": [ {
 *       "korrespondanseparttype": "Mottaker",       // default; or "Avsender", "Kopimottaker", …
 *       "korrespondansepartNavn": "Testkommune",    // required
 *       "postadresse": ["Postboks 1"], "postnummer": "0150", "poststed": "OSLO", "land": "Norge",
 *       "epostadresse": "post@example.no", "telefonnummer": ["22 00 00 00"], "kontaktperson": "…",
 *       "administrativEnhet": "…", "saksbehandler": "…"
 *     } ]
 *   }
 * }
 * ```
 * Dates are `yyyy-MM-dd`, date-times ISO-8601 with offset; JavaScript Date objects are accepted for both.
 * Each sent file becomes a dokumentbeskrivelse: the first is the Hoveddokument, the rest Vedlegg.
 */
export const ArkivmeldingInputSchema = record({
  tittel: text('a non-empty title'),
  offentligTittel: optionalText,
  system: optionalText,
  meldingId: optionalText,
  tidspunkt: dateTime.optional(),
  opprettetAv: optionalText,
  dokumenttype: optionalText,
  saksmappe: record(
    {
      systemID: guid.optional(),
      mappeID: optionalText,
      tittel: optionalText,
      offentligTittel: optionalText,
      saksaar: wholeNumber.optional(),
      sakssekvensnummer: wholeNumber.optional(),
      saksdato: date.optional(),
      administrativEnhet: optionalText,
      saksansvarlig: optionalText,
      journalenhet: optionalText,
      saksstatus: z.enum(SAKSSTATUSER, { message: oneOf(SAKSSTATUSER) }).optional(),
      klassifikasjon: listOf(Klassifikasjon, 'classes').optional(),
    },
    'an object with the case fields',
  ).optional(),
  journalpost: record(
    {
      systemID: guid.optional(),
      tittel: optionalText,
      offentligTittel: optionalText,
      journalaar: wholeNumber.optional(),
      journalsekvensnummer: wholeNumber.optional(),
      journalpostnummer: wholeNumber.optional(),
      journalposttype: z.enum(JOURNALPOSTTYPER, { message: oneOf(JOURNALPOSTTYPER) }).optional(),
      journalstatus: z.enum(JOURNALSTATUSER, { message: oneOf(JOURNALSTATUSER) }).optional(),
      journaldato: date.optional(),
      dokumentetsDato: date.optional(),
      sendtDato: dateTime.optional(),
      forfallsdato: date.optional(),
      journalenhet: optionalText,
      korrespondansepart: listOf(Korrespondansepart, 'parties').optional(),
    },
    'an object with the registry entry fields',
  ).optional(),
}, 'an object such as { "tittel": "Vedtak" }');

/** `msg.arkivmelding`, see {@link ArkivmeldingInputSchema} for every field. */
export type ArkivmeldingInput = z.input<typeof ArkivmeldingInputSchema>;

/** A file the arkivmelding lists (never arkivmelding.xml itself). */
export interface ArkivmeldingFile {
  filename: string;
  mimeType?: string;
  /** Document title; default: the arkivmelding's title for the first file, the filename for the others. */
  title?: string;
}

/** A small writer for indented XML elements. */
class XmlWriter {
  private readonly lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  private depth = 0;

  open(name: string, attributes = ''): void {
    this.lines.push(`${'  '.repeat(this.depth)}<${name}${attributes}>`);
    this.depth++;
  }

  close(name: string): void {
    this.depth--;
    this.lines.push(`${'  '.repeat(this.depth)}</${name}>`);
  }

  /** Writes `<name>value</name>`; skips absent values, repeats for lists. */
  leaf(name: string, value: string | number | Array<string> | undefined): void {
    if (value === undefined || value === '') return;
    for (const item of Array.isArray(value) ? value : [value]) {
      this.lines.push(`${'  '.repeat(this.depth)}<${name}>${escapeXml(String(item))}</${name}>`);
    }
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

const asDate = (value: string | Date | undefined): string | undefined => (value instanceof Date ? localDate(value) : value);
const asDateTime = (value: string | Date | undefined): string | undefined => (value instanceof Date ? offsetDateTime(value) : value);

function checkFiles(files: ArkivmeldingFile[]): ArkivmeldingFile[] {
  if (!Array.isArray(files)) throw new ValidationError('files: expected a list of { filename, mimeType?, title? }');
  const seen = new Set<string>();
  const listed: ArkivmeldingFile[] = [];
  files.forEach((file, index) => {
    const filename = typeof file?.filename === 'string' ? file.filename.trim() : '';
    if (!filename) throw new ValidationError(`files[${index}].filename: expected the file name`);
    if (filename === ARKIVMELDING_FILENAME) return; // the arkivmelding cannot list itself
    if (seen.has(filename)) throw new ValidationError(`files[${index}].filename: "${filename}" is listed twice; file names must be unique`);
    seen.add(filename);
    listed.push({ ...file, filename });
  });
  return listed;
}

/**
 * Generates arkivmelding.xml for the sent files, valid against eFormidling's arkivmelding.xsd: a saksmappe
 * (the IP requires one) holding a journalpost with one dokumentbeskrivelse + dokumentobjekt per file.
 * Throws a ValidationError naming the field (`arkivmelding.tittel: expected a non-empty title`).
 */
export function buildArkivmeldingXml(input: ArkivmeldingInput, files: ArkivmeldingFile[]): string {
  const parsed = ArkivmeldingInputSchema.safeParse(input);
  if (!parsed.success) throw issuesToError(parsed.error, 'arkivmelding');
  const am = parsed.data;
  const documents = checkFiles(files);

  const now = new Date();
  const nowDateTime = offsetDateTime(now);
  const today = localDate(now);
  const system = am.system || DEFAULT_ARKIVMELDING_SYSTEM;
  const author = am.opprettetAv || system;
  const sak = am.saksmappe ?? {};
  const jp = am.journalpost ?? {};
  const mappeId = sak.systemID ?? randomUUID();
  const title = jp.tittel || am.tittel;

  const x = new XmlWriter();
  x.open('arkivmelding', ` xmlns="${ARKIVMELDING_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`);
  x.leaf('system', system);
  x.leaf('meldingId', am.meldingId || randomUUID());
  x.leaf('tidspunkt', asDateTime(am.tidspunkt) ?? nowDateTime);
  x.leaf('antallFiler', documents.length);

  // Element order follows the xsd sequences: mappe, then the saksmappe extension after the registrering.
  x.open('mappe', ' xsi:type="saksmappe"');
  x.leaf('systemID', mappeId);
  x.leaf('mappeID', sak.mappeID);
  x.leaf('tittel', sak.tittel || am.tittel);
  x.leaf('offentligTittel', sak.offentligTittel);
  x.leaf('opprettetDato', nowDateTime);
  x.leaf('opprettetAv', author);
  for (const k of sak.klassifikasjon ?? []) {
    x.open('klassifikasjon');
    x.leaf('referanseKlassifikasjonssystem', k.referanseKlassifikasjonssystem);
    x.leaf('klasseID', k.klasseID);
    x.leaf('tittel', k.tittel || k.klasseID);
    x.close('klassifikasjon');
  }

  x.open('basisregistrering', ' xsi:type="journalpost"');
  x.leaf('systemID', jp.systemID ?? randomUUID());
  x.leaf('opprettetDato', nowDateTime);
  x.leaf('opprettetAv', author);
  x.leaf('arkivertDato', nowDateTime);
  x.leaf('arkivertAv', author);
  x.leaf('referanseForelderMappe', mappeId);
  documents.forEach((file, index) => {
    x.open('dokumentbeskrivelse');
    x.leaf('systemID', randomUUID());
    x.leaf('dokumenttype', am.dokumenttype || 'Brev');
    x.leaf('dokumentstatus', 'Dokumentet er ferdigstilt');
    x.leaf('tittel', file.title?.trim() || (index === 0 ? title : file.filename));
    x.leaf('opprettetDato', nowDateTime);
    x.leaf('opprettetAv', author);
    x.leaf('tilknyttetRegistreringSom', index === 0 ? 'Hoveddokument' : 'Vedlegg');
    x.leaf('dokumentnummer', index + 1);
    x.leaf('tilknyttetDato', nowDateTime);
    x.leaf('tilknyttetAv', author);
    x.open('dokumentobjekt');
    x.leaf('versjonsnummer', 1);
    x.leaf('variantformat', 'Produksjonsformat');
    x.leaf('opprettetDato', nowDateTime);
    x.leaf('opprettetAv', author);
    x.leaf('referanseDokumentfil', file.filename);
    x.close('dokumentobjekt');
    x.close('dokumentbeskrivelse');
  });
  x.leaf('tittel', title);
  x.leaf('offentligTittel', jp.offentligTittel || am.offentligTittel);
  x.leaf('journalaar', jp.journalaar);
  x.leaf('journalsekvensnummer', jp.journalsekvensnummer);
  x.leaf('journalpostnummer', jp.journalpostnummer);
  x.leaf('journalposttype', jp.journalposttype ?? 'Utgående dokument');
  x.leaf('journalstatus', jp.journalstatus ?? 'Journalført');
  x.leaf('journaldato', asDate(jp.journaldato) ?? today);
  x.leaf('dokumentetsDato', asDate(jp.dokumentetsDato));
  x.leaf('sendtDato', asDateTime(jp.sendtDato));
  x.leaf('forfallsdato', asDate(jp.forfallsdato));
  if (documents.length > 1) x.leaf('antallVedlegg', documents.length - 1);
  x.leaf('journalenhet', jp.journalenhet);
  for (const part of jp.korrespondansepart ?? []) {
    x.open('korrespondansepart');
    x.leaf('korrespondanseparttype', part.korrespondanseparttype ?? 'Mottaker');
    x.leaf('korrespondansepartNavn', part.korrespondansepartNavn);
    x.leaf('postadresse', part.postadresse);
    x.leaf('postnummer', part.postnummer);
    x.leaf('poststed', part.poststed);
    x.leaf('land', part.land);
    x.leaf('epostadresse', part.epostadresse);
    x.leaf('telefonnummer', part.telefonnummer);
    x.leaf('kontaktperson', part.kontaktperson);
    x.leaf('administrativEnhet', part.administrativEnhet);
    x.leaf('saksbehandler', part.saksbehandler);
    x.close('korrespondansepart');
  }
  x.close('basisregistrering');

  x.leaf('saksaar', sak.saksaar);
  x.leaf('sakssekvensnummer', sak.sakssekvensnummer);
  x.leaf('saksdato', asDate(sak.saksdato) ?? today);
  x.leaf('administrativEnhet', sak.administrativEnhet || system);
  x.leaf('saksansvarlig', sak.saksansvarlig || author);
  x.leaf('journalenhet', sak.journalenhet);
  x.leaf('saksstatus', sak.saksstatus ?? 'Under behandling');
  x.close('mappe');
  x.close('arkivmelding');
  return x.toString();
}

// ---------------------------------------------------------------- reading

export type ArkivmeldingValue = string | number | string[] | ArkivmeldingFields[];
export interface ArkivmeldingFields {
  [field: string]: ArkivmeldingValue;
}

export interface ArkivmeldingDocument {
  tittel?: string;
  /** referanseDokumentfil: the file's name in the ASiC. */
  filename?: string;
  tilknyttetRegistreringSom?: string;
  dokumenttype?: string;
  dokumentnummer?: number;
  /** The dokumentobjekt's format, when the archive system wrote one. */
  format?: string;
}

export interface ArkivmeldingSummary {
  system?: string;
  meldingId?: string;
  tidspunkt?: string;
  antallFiler?: number;
  /** The journalpost's title, else the case's. */
  tittel?: string;
  offentligTittel?: string;
  /** The simple fields found in the saksmappe (plus klassifikasjon and sakspart lists). */
  saksmappe?: ArkivmeldingFields;
  /** The simple fields found in the journalpost (plus the korrespondansepart list). */
  journalpost?: ArkivmeldingFields;
  /** One per dokumentobjekt, ordered by dokumentnummer. */
  documents: ArkivmeldingDocument[];
}

const NUMBER_FIELDS = new Set([
  'antallFiler',
  'saksaar',
  'sakssekvensnummer',
  'journalaar',
  'journalsekvensnummer',
  'journalpostnummer',
  'antallVedlegg',
  'dokumentnummer',
  'versjonsnummer',
]);

function leafValue(name: string, value: string): string | number {
  return NUMBER_FIELDS.has(name) && /^\d+$/.test(value) ? Number(value) : value;
}

/** The element's leaf children as fields (repeated ones as lists), plus the named lists of sub-records. */
function fieldsOf(element: XmlElement, lists: string[]): ArkivmeldingFields {
  const fields: ArkivmeldingFields = {};
  for (const child of element.children) {
    if (lists.includes(child.name)) {
      const list = (fields[child.name] ??= []) as ArkivmeldingFields[];
      list.push(fieldsOf(child, []));
      continue;
    }
    const value = child.text.trim();
    if (child.children.length || !value) continue;
    const existing = fields[child.name];
    if (existing === undefined) fields[child.name] = leafValue(child.name, value);
    else fields[child.name] = [...(Array.isArray(existing) ? (existing as string[]) : [String(existing)]), value];
  }
  return fields;
}

const isRegistrering = (e: XmlElement) => e.name === 'basisregistrering' || e.name === 'registrering';

/**
 * Reads an arkivmelding.xml (ours, or a typical one from an archive system; namespace prefixes allowed)
 * into a small summary. Throws a ValidationError for XML that is malformed or not an arkivmelding.
 */
export function parseArkivmeldingXml(xml: string): ArkivmeldingSummary {
  if (typeof xml !== 'string') throw new ValidationError(`${ARKIVMELDING_FILENAME}: expected the XML as text`);
  const root = parseXml(xml, ARKIVMELDING_FILENAME);
  if (root.name !== 'arkivmelding') {
    throw new ValidationError(`${ARKIVMELDING_FILENAME}: expected the root element <arkivmelding>, got <${root.qname}>`);
  }
  const mappe =
    findElement(root, (e) => e.name === 'mappe' && xsiType(e) === 'saksmappe') ?? findElement(root, (e) => e.name === 'mappe');
  const journalpost =
    findElement(root, (e) => isRegistrering(e) && xsiType(e) === 'journalpost') ?? findElement(root, isRegistrering);

  const documents: ArkivmeldingDocument[] = [];
  const descriptions = journalpost ? childrenNamed(journalpost, 'dokumentbeskrivelse') : [];
  for (const description of descriptions) {
    const common: ArkivmeldingDocument = {
      tittel: childText(description, 'tittel'),
      tilknyttetRegistreringSom: childText(description, 'tilknyttetRegistreringSom'),
      dokumenttype: childText(description, 'dokumenttype'),
    };
    const number = childText(description, 'dokumentnummer');
    if (number && /^\d+$/.test(number)) common.dokumentnummer = Number(number);
    const objects = childrenNamed(description, 'dokumentobjekt');
    if (!objects.length) documents.push(common);
    for (const object of objects) {
      documents.push({ ...common, filename: childText(object, 'referanseDokumentfil'), format: childText(object, 'format') });
    }
  }
  const order = (d: ArkivmeldingDocument) => d.dokumentnummer ?? Number.MAX_SAFE_INTEGER;
  documents.sort((a, b) => order(a) - order(b));
  for (const d of documents) {
    for (const key of Object.keys(d) as Array<keyof ArkivmeldingDocument>) if (d[key] === undefined) delete d[key];
  }

  const antallFiler = childText(root, 'antallFiler');
  const summary: ArkivmeldingSummary = {
    system: childText(root, 'system'),
    meldingId: childText(root, 'meldingId') ?? childText(root, 'meldingsId'),
    tidspunkt: childText(root, 'tidspunkt'),
    antallFiler: antallFiler && /^\d+$/.test(antallFiler) ? Number(antallFiler) : undefined,
    tittel: (journalpost && childText(journalpost, 'tittel')) ?? (mappe && childText(mappe, 'tittel')),
    offentligTittel: (journalpost && childText(journalpost, 'offentligTittel')) ?? (mappe && childText(mappe, 'offentligTittel')),
    saksmappe: mappe ? fieldsOf(mappe, ['klassifikasjon', 'sakspart']) : undefined,
    journalpost: journalpost ? fieldsOf(journalpost, ['korrespondansepart']) : undefined,
    documents,
  };
  for (const key of Object.keys(summary) as Array<keyof ArkivmeldingSummary>) if (summary[key] === undefined) delete summary[key];
  return summary;
}
