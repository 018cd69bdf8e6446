import { z } from 'zod';
import { DateTime, LocalDate, Uuid } from './common';
import { ValidationError, formatIssues, prefixIssues } from './format';

// ---------------------------------------------------------------- header

export const IDENTIFIER_AUTHORITY = 'iso6523-actorid-upis';
export const NHN_AUTHORITY = 'nhn-actorid';

/** `0192:<orgnr>`, `0192:<own>:<represented>`, a bare 9-digit orgnr, or an 11-digit person id. */
const ISO6523_VALUE = /^(0192:\d{9}(:\d{9})?|\d{9}|\d{11})$/;
const NHN_VALUE = /^(her-id:\d+|fastlege-for:\d{11})$/;

export const PartnerIdentification = z
  .looseObject({
    value: z.string(),
    authority: z.enum([IDENTIFIER_AUTHORITY, NHN_AUTHORITY], {
      message: `expected authority "${IDENTIFIER_AUTHORITY}" (or "${NHN_AUTHORITY}" for health actors)`,
    }),
  })
  .superRefine((id, ctx) => {
    const ok = id.authority === NHN_AUTHORITY ? NHN_VALUE.test(id.value) : ISO6523_VALUE.test(id.value);
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message:
          id.authority === NHN_AUTHORITY
            ? `expected her-id:<number> or fastlege-for:<11-digit id>, got "${id.value}"`
            : `expected an organisation number like 0192:910000009 or an 11-digit person id, got "${id.value}"`,
      });
    }
  });

export const ContactInformation = z.looseObject({
  contact: z.string().optional(),
  emailAddress: z.string().optional(),
  faxNumber: z.string().optional(),
  telephoneNumber: z.string().optional(),
  contactTypeIdentifier: z.string().optional(),
});

export const Partner = z.looseObject({
  identifier: PartnerIdentification,
  contactInformation: z.array(ContactInformation).optional(),
});
export type Partner = z.infer<typeof Partner>;

export const DocumentIdentification = z.looseObject({
  standard: z.string().min(1, { message: 'expected the document type URN, e.g. urn:no:difi:arkivmelding:xsd::arkivmelding' }),
  typeVersion: z.string().min(1, { message: 'expected a type version such as "2.0"' }),
  instanceIdentifier: Uuid.optional(),
  type: z.string().min(1, { message: 'expected the business message type, e.g. arkivmelding' }),
  multipleType: z.boolean().optional(),
  creationDateAndTime: DateTime.optional(),
});
export type DocumentIdentification = z.infer<typeof DocumentIdentification>;

export const SCOPE_TYPES = ['ConversationId', 'SenderRef', 'ReceiverRef', 'JournalpostId', 'ParentId', 'MessageChannel'] as const;

export const ScopeInformation = z.looseObject({
  expectedResponseDateTime: DateTime.optional(),
  requestingDocumentCreationDateTime: DateTime.optional(),
  requestingDocumentInstanceIdentifier: z.string().optional(),
});

export const Scope = z
  .looseObject({
    type: z.enum(SCOPE_TYPES, { message: `expected one of ${SCOPE_TYPES.join(', ')}` }),
    instanceIdentifier: z.string().optional(),
    identifier: z.string().optional(),
    scopeInformation: z.array(ScopeInformation).optional(),
  })
  .superRefine((scope, ctx) => {
    const mustBeUuid = scope.type === 'ConversationId' || scope.type === 'SenderRef';
    if (mustBeUuid && scope.instanceIdentifier !== undefined && !Uuid.safeParse(scope.instanceIdentifier).success) {
      ctx.addIssue({ code: 'custom', path: ['instanceIdentifier'], message: `expected a UUID for the ${scope.type} scope, got "${scope.instanceIdentifier}"` });
    }
  });
export type Scope = z.infer<typeof Scope>;

export const BusinessScope = z.looseObject({
  scope: z.array(Scope).min(1, { message: 'expected at least the ConversationId scope' }),
});

export const StandardBusinessDocumentHeader = z
  .looseObject({
    headerVersion: z.string().min(1, { message: 'expected "1.0"' }),
    sender: z.array(Partner).max(1, { message: 'expected at most one sender' }).optional(),
    receiver: z.array(Partner).max(1, { message: 'expected at most one receiver' }).optional(),
    documentIdentification: DocumentIdentification,
    manifest: z.unknown().optional(),
    businessScope: BusinessScope,
  })
  .superRefine((h, ctx) => {
    const { standard, type } = h.documentIdentification;
    if (standard && type && !standard.endsWith(`::${type}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['documentIdentification', 'standard'],
        message: `expected the standard to end with "::${type}" (the message type), got "${standard}"`,
      });
    }
    const conv = h.businessScope.scope.findIndex((s) => s.type === 'ConversationId');
    if (conv < 0) {
      // An empty list already got "expected at least the ConversationId scope".
      if (h.businessScope.scope.length) {
        ctx.addIssue({ code: 'custom', path: ['businessScope', 'scope'], message: 'expected a ConversationId scope carrying the process' });
      }
    } else if (!h.businessScope.scope[conv].identifier) {
      ctx.addIssue({
        code: 'custom',
        path: ['businessScope', 'scope', conv, 'identifier'],
        message: 'expected the process URN, e.g. urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
      });
    }
  });
export type StandardBusinessDocumentHeader = z.infer<typeof StandardBusinessDocumentHeader>;

// ---------------------------------------------------------------- business messages (§5.5)

const hoveddokument = z.string().optional();
const Sikkerhetsnivaa = z.union([z.literal(3), z.literal(4)], { message: 'expected security level 3 or 4' });

export const DpvSettings = z.looseObject({
  varselType: z.enum(['VarselDPVMedRevarsel', 'VarselDPVUtenRevarsel']).optional(),
  varselTransportType: z.enum(['Epost', 'SMS', 'EpostOgSMS']).optional(),
  varselTekst: z.string().optional(),
  taushetsbelagtVarselTekst: z.string().optional(),
  dagerTilSvarfrist: z.number().int().optional(),
});

export const Arkivmelding = z.looseObject({
  hoveddokument,
  sikkerhetsnivaa: Sikkerhetsnivaa.optional(),
  dpv: DpvSettings.optional(),
  dpf: z.looseObject({ forsendelseType: z.string().optional() }).optional(),
});

export const RECEIPT_TYPES = ['OK', 'WARNING', 'ERROR', 'NOTSUPPORTED'] as const;
export const ArkivmeldingKvittering = z.looseObject({
  receiptType: z.enum(RECEIPT_TYPES, { message: `expected one of ${RECEIPT_TYPES.join(', ')}` }),
  relatedToMessageId: z.string().optional(),
  messages: z.array(z.looseObject({ code: z.string().optional(), text: z.string().optional() })).optional(),
  hoveddokument,
});

export const Digital = z.looseObject({
  hoveddokument: z.string({ message: 'expected the primary document filename' }),
  sikkerhetsnivaa: Sikkerhetsnivaa,
  avsenderId: z.string().optional(),
  fakturaReferanse: z.string().optional(),
  tittel: z.string({ message: 'expected a title (visible in notifications)' }),
  spraak: z.string({ message: 'expected a language code such as "no"' }),
  digitalPostInfo: z.looseObject({ virkningsdato: LocalDate, aapningskvittering: z.boolean() }),
  varsler: z.looseObject({ epostTekst: z.string().optional(), smsTekst: z.string().optional() }).optional(),
  metadataFiler: z.record(z.string(), z.string()).optional(),
});

export const PostAddress = z.looseObject({
  navn: z.string().optional(),
  adresselinje1: z.string().optional(),
  adresselinje2: z.string().optional(),
  adresselinje3: z.string().optional(),
  adresselinje4: z.string().optional(),
  postnummer: z.string().optional(),
  poststed: z.string().optional(),
  land: z.string().optional(),
});

export const Print = z.looseObject({
  hoveddokument: z.string({ message: 'expected the primary document filename' }),
  avsenderId: z.string().optional(),
  fakturaReferanse: z.string().optional(),
  mottaker: PostAddress,
  utskriftsfarge: z.enum(['SORT_HVIT', 'FARGE']).optional(),
  posttype: z.enum(['A_PRIORITERT', 'B_OEKONOMI']).optional(),
  retur: z.looseObject({ mottaker: PostAddress, returhaandtering: z.enum(['DIREKTE_RETUR', 'MAKULERING_MED_MELDING']) }),
  printinstruksjoner: z.record(z.string(), z.string()).optional(),
});

export const DigitalDpv = z.looseObject({
  hoveddokument,
  tittel: z.string({ message: 'expected a title' }),
  sammendrag: z.string({ message: 'expected a summary' }),
  innhold: z.string({ message: 'expected the content text' }),
  dpv: DpvSettings.optional(),
});

export const Innsynskrav = z.looseObject({ orgnr: z.string(), epost: z.string(), hoveddokument });
export const Publisering = z.looseObject({ orgnr: z.string(), hoveddokument });
export const EinnsynKvittering = z.looseObject({
  dokumentId: z.string(),
  status: z.string(),
  referanseType: z.enum(['innsynskrav', 'publisering']),
  hoveddokument,
});
export const Avtalt = z.looseObject({ identifier: z.string({ message: 'expected the agreed message kind' }), content: z.unknown(), hoveddokument });
export const StatusMessage = z.looseObject({ status: z.string().optional(), hoveddokument });
export const Dialogmelding = z.looseObject({
  hoveddokument: z.string(),
  pasient: z.looseObject({ fnr: z.string(), fornavn: z.string(), mellomnavn: z.string().optional(), etternavn: z.string() }),
  metadataFiler: z.record(z.string(), z.looseObject({ issueDate: z.string().optional(), description: z.string().optional() })).optional(),
});
export const DialogmeldingKvittering = z.looseObject({
  relatedToMessageId: z.string().optional(),
  status: z.enum(['OK', 'REJECTED', 'OK_ERROR_IN_MESSAGE_PART']).optional(),
  messages: z.array(z.looseObject({ code: z.string().optional(), text: z.string().optional() })).optional(),
  rawReceipt: z.string().optional(),
});

/** Every business message type of the IP, with its schema and the standard the IP uses by default. */
export const BUSINESS_MESSAGES = {
  arkivmelding: { schema: Arkivmelding, standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding' },
  arkivmelding_kvittering: { schema: ArkivmeldingKvittering, standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding_kvittering' },
  avtalt: { schema: Avtalt, standard: 'urn:no:difi:avtalt:xsd::avtalt' },
  digital: { schema: Digital, standard: 'urn:no:difi:digitalpost:xsd:digital::digital' },
  print: { schema: Print, standard: 'urn:no:difi:digitalpost:xsd:fysisk::print' },
  digital_dpv: { schema: DigitalDpv, standard: 'urn:no:difi:digitalpost:xsd:digital::digital_dpv' },
  innsynskrav: { schema: Innsynskrav, standard: 'urn:no:difi:einnsyn:xsd::innsynskrav' },
  publisering: { schema: Publisering, standard: 'urn:no:difi:einnsyn:xsd::publisering' },
  einnsyn_kvittering: { schema: EinnsynKvittering, standard: 'urn:no:difi:einnsyn:xsd::einnsyn_kvittering' },
  status: { schema: StatusMessage, standard: 'urn:no:difi:eformidling:xsd::status' },
  dialogmelding: { schema: Dialogmelding, standard: 'urn:no:difi:helse:xsd:schema::dialogmelding' },
  dialogmelding_kvittering: { schema: DialogmeldingKvittering, standard: 'urn:no:difi:helse:xsd::dialogmelding_kvittering' },
} as const;

export type MessageType = keyof typeof BUSINESS_MESSAGES;
export const MESSAGE_TYPES = Object.keys(BUSINESS_MESSAGES) as MessageType[];

/** Types that carry no attachments and pop as 204. */
export const RECEIPT_MESSAGE_TYPES: readonly MessageType[] = ['arkivmelding_kvittering', 'einnsyn_kvittering', 'dialogmelding_kvittering'];

export function isMessageType(type: string): type is MessageType {
  return Object.prototype.hasOwnProperty.call(BUSINESS_MESSAGES, type);
}

export type BusinessMessage = Record<string, unknown> & { hoveddokument?: string };

export interface StandardBusinessDocument {
  standardBusinessDocumentHeader: StandardBusinessDocumentHeader;
  [type: string]: unknown;
}

// ---------------------------------------------------------------- envelope

export interface SbdParts {
  header: StandardBusinessDocumentHeader;
  type: MessageType;
  businessMessage: BusinessMessage;
}

/** The error for a member of the SBD (its header or business message), its paths starting at the member. */
function invalidMember(error: z.ZodError, key: string, what: string): ValidationError {
  const issues = prefixIssues(error.issues, key);
  return new ValidationError(formatIssues(issues, what), issues);
}

/**
 * Checks an SBD as the IP's deserializer does (§5.1): exactly two top-level members, the header and a member
 * named after the lower-case `documentIdentification.type`; then validates the header and the business message.
 * Throws a ValidationError whose message is one sentence naming the path.
 */
export function parseSbd(value: unknown, what = 'SBD'): SbdParts {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`Invalid ${what}: expected a JSON object with standardBusinessDocumentHeader and the business message`);
  }
  const keys = Object.keys(value);
  if (!keys.includes('standardBusinessDocumentHeader')) {
    throw new ValidationError(`Invalid ${what}: standardBusinessDocumentHeader: expected the SBD header`);
  }
  const headerResult = StandardBusinessDocumentHeader.safeParse((value as Record<string, unknown>).standardBusinessDocumentHeader);
  if (!headerResult.success) throw invalidMember(headerResult.error, 'standardBusinessDocumentHeader', what);
  const header = headerResult.data;
  const typeName = header.documentIdentification.type.toLowerCase();
  if (!isMessageType(typeName)) {
    throw new ValidationError(
      `Invalid ${what}: standardBusinessDocumentHeader.documentIdentification.type: unknown message type "${header.documentIdentification.type}", expected one of ${MESSAGE_TYPES.join(', ')}`,
    );
  }
  const others = keys.filter((k) => k !== 'standardBusinessDocumentHeader');
  if (others.length !== 1 || others[0] !== typeName) {
    const got = others.length ? others.map((k) => `"${k}"`).join(', ') : 'none';
    throw new ValidationError(
      `Invalid ${what}: expected exactly two top-level members, standardBusinessDocumentHeader and "${typeName}" (the message type), got ${got} beside the header`,
    );
  }
  const body = (value as Record<string, unknown>)[typeName];
  const bodyResult = BUSINESS_MESSAGES[typeName].schema.safeParse(body);
  if (!bodyResult.success) throw invalidMember(bodyResult.error, typeName, what);
  return { header, type: typeName, businessMessage: bodyResult.data as BusinessMessage };
}

/** A zod schema for an SBD, for use inside other schemas (e.g. a Page of SBDs). Applies parseSbd's rules. */
export const StandardBusinessDocumentSchema = z.custom<StandardBusinessDocument>((v) => {
  try {
    parseSbd(v);
    return true;
  } catch {
    return false;
  }
}, { message: 'expected a StandardBusinessDocument' });

// ---------------------------------------------------------------- accessors

export function conversationScope(header: StandardBusinessDocumentHeader): Scope | undefined {
  return header.businessScope.scope.find((s) => s.type === 'ConversationId');
}

/** Strips `0192:` (and an on-behalf-of own number) to the bare number the IP uses in filters. */
export function bareIdentifier(value: string | undefined): string | undefined {
  if (!value) return value;
  const parts = value.split(':');
  if (parts[0] === '0192') return parts[parts.length - 1];
  return value;
}

export interface SbdSummary {
  messageId?: string;
  conversationId?: string;
  process?: string;
  type: string;
  standard: string;
  sender?: string;
  receiver?: string;
  expectedResponseDateTime?: string;
}

/** The identifiers a flow routes on, read from an SBD header. */
export function summarizeSbd(sbd: StandardBusinessDocument): SbdSummary {
  const h = sbd.standardBusinessDocumentHeader;
  const scope = conversationScope(h);
  return {
    messageId: h.documentIdentification.instanceIdentifier,
    conversationId: scope?.instanceIdentifier,
    process: scope?.identifier,
    type: h.documentIdentification.type,
    standard: h.documentIdentification.standard,
    sender: h.sender?.[0]?.identifier.value,
    receiver: h.receiver?.[0]?.identifier.value,
    expectedResponseDateTime: scope?.scopeInformation?.[0]?.expectedResponseDateTime,
  };
}
