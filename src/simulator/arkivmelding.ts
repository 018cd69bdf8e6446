import { SimulatorError } from './errors';

/** What the IP reads from an uploaded arkivmelding.xml (via JAXB; here with a tolerant regex reading). */
export interface ArkivmeldingFacts {
  /** The journalpost's offentligTittel (the conversation's messageTitle). */
  offentligTittel?: string;
  /** `<saksmappe systemID>-<journalpostnummer>` when the journalpost has a number (the messageReference). */
  reference?: string;
  /** Every referanseDokumentfil of the journalpost's documents. */
  files: string[];
}

const P = '(?:[\\w.-]+:)?'; // optional namespace prefix

function decodeXml(text: string): string {
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(text);
  if (cdata) return cdata[1];
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

function firstElement(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${P}${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${P}${name}>`).exec(xml);
  return m ? decodeXml(m[1]) : undefined;
}

function allElements(xml: string, name: string): string[] {
  const re = new RegExp(`<${P}${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${P}${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => decodeXml(m[1]));
}

/** The element starting with an open tag whose xsi:type is `type`, up to its closing tag. */
function typedBlock(xml: string, element: string, type: string): string | undefined {
  const open = new RegExp(`<${P}${element}\\s[^>]*type\\s*=\\s*["'](?:[\\w.-]+:)?${type}["'][^>]*>`).exec(xml);
  if (!open) return undefined;
  const rest = xml.slice(open.index + open[0].length);
  const close = new RegExp(`</${P}${element}>`).exec(rest);
  return close ? rest.slice(0, close.index) : rest;
}

/**
 * Reads an arkivmelding the way the IP uses it: the first saksmappe and its first journalpost. Like the IP, a
 * document that is not XML, or has no saksmappe or journalpost, is an error.
 */
export function readArkivmelding(xml: string): ArkivmeldingFacts {
  if (!/<(?:[\w.-]+:)?arkivmelding[\s>]/.test(xml)) {
    throw new SimulatorError(500, 'no.difi.meldingsutveksling.nextmove.NextMoveRuntimeException', 'Failed to get Arkivmelding');
  }
  const saksmappe = typedBlock(xml, 'mappe', 'saksmappe');
  if (saksmappe === undefined) {
    throw new SimulatorError(500, 'no.difi.meldingsutveksling.arkivmelding.ArkivmeldingRuntimeException', 'No "Saksmappe" found in Arkivmelding');
  }
  const journalpost = typedBlock(saksmappe, 'basisregistrering', 'journalpost');
  if (journalpost === undefined) {
    throw new SimulatorError(500, 'no.difi.meldingsutveksling.arkivmelding.ArkivmeldingRuntimeException', 'No "Journalpost" found in Arkivmelding');
  }
  const mappeHead = saksmappe.split(/<(?:[\w.-]+:)?basisregistrering[\s>]/)[0];
  const systemID = firstElement(mappeHead, 'systemID');
  const journalpostnummer = firstElement(journalpost, 'journalpostnummer');
  // The journalpost's own offentligTittel follows its documents; document titles are called tittel.
  const withoutDocuments = journalpost.replace(new RegExp(`<${P}dokumentbeskrivelse[\\s>][\\s\\S]*?</${P}dokumentbeskrivelse>`, 'g'), '');
  return {
    offentligTittel: firstElement(withoutDocuments, 'offentligTittel'),
    reference: journalpostnummer ? `${systemID ?? 'null'}-${journalpostnummer}` : undefined,
    files: allElements(journalpost, 'referanseDokumentfil'),
  };
}
