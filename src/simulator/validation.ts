import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Capability } from '../schemas/capabilities';
import type { ServiceIdentifier } from '../schemas/common';
import { formatPath, ValidationError } from '../schemas/format';
import { IDENTIFIER_AUTHORITY, conversationScope, parseSbd } from '../schemas/sbd';
import type { BusinessMessage, MessageType, Scope, StandardBusinessDocument, StandardBusinessDocumentHeader } from '../schemas/sbd';
import { SimulatorError, offsetDateTime } from './errors';
import type { FieldErrorBody } from './errors';
import { SPRING } from './http';
import type { ServiceRegistry } from './registry';

/** Where an SBD came from: the JSON body of POST /api/messages/out, or the `sbd` part of a multipart request. */
export type SbdSource = 'json' | 'multipart';

/** The default lifetime of a message (difi.move.*.default-ttl-hours). */
export const DEFAULT_TTL_MS = 24 * 3600 * 1000;


/** An outgoing SBD checked and completed as the IP does on create (§5.3, §5.4). */
export interface NewMessage {
  sbd: StandardBusinessDocument;
  type: MessageType;
  businessMessage: BusinessMessage;
  messageId: string;
  conversationId: string;
  process: string;
  standard: string;
  /** Full sender value, e.g. 0192:910000009 */
  sender: string;
  /** Bare sender number; for on-behalf-of the represented organisation. */
  senderIdentifier: string;
  receiver?: string;
  receiverIdentifier?: string;
  serviceIdentifier: ServiceIdentifier;
  /** ms */
  expiry: number;
}

/** `0192:910000009` → 910000009; `0192:910000009:920000008` → 910000009; person ids and her-ids as they are. */
export function primaryIdentifier(value: string): string {
  const parts = value.split(':');
  return parts[0] === '0192' && parts.length > 1 ? parts[1] : value;
}

/** The represented organisation of an on-behalf-of sender, otherwise the primary number. */
export function partOrPrimaryIdentifier(value: string): string {
  const parts = value.split(':');
  return parts[0] === '0192' && parts.length > 2 ? parts[2] : primaryIdentifier(value);
}

/** The message's expectedResponseDateTime (checkNewMessage gives every message one). */
export function expectedResponseOf(sbd: StandardBusinessDocument): string | undefined {
  return conversationScope(sbd.standardBusinessDocumentHeader)?.scopeInformation?.[0]?.expectedResponseDateTime;
}

/** The description of LEVETID_UTLOPT, as the IP writes it. */
export const TTL_EXPIRED_DESCRIPTION = 'Levetiden for meldingen er utgått. Må sendes på nytt';

/** Epoch ms of an ISO date-time; one without offset is read as local time, as the IP reads it as Europe/Oslo. */
export function parseDateTime(value: string): number {
  return Date.parse(value);
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function constraintCode(issue: z.core.$ZodIssue, rejected: unknown): string {
  if (issue.code === 'invalid_type' && rejected === undefined) return 'NotNull';
  if (issue.code === 'too_small' || issue.code === 'too_big') return 'Size';
  if (issue.code === 'invalid_value') return 'Pattern';
  return 'Valid';
}

function fieldError(raw: unknown, path: ReadonlyArray<PropertyKey>, message: string, code: string): FieldErrorBody {
  const field = formatPath(path);
  return {
    codes: [`${code}.standardBusinessDocument.${field}`, `${code}.${field}`, code],
    defaultMessage: message,
    objectName: 'standardBusinessDocument',
    field,
    rejectedValue: valueAt(raw, path),
    bindingFailure: false,
    code,
  };
}

/** Bean-validation failure: MethodArgumentNotValidException for a JSON body, ConstraintViolationException for multipart. */
function constraintViolation(source: SbdSource, errors: FieldErrorBody[]): SimulatorError {
  const details = errors.map((e) => `${e.field}: ${e.defaultMessage}`).join('; ');
  if (source === 'json') {
    return new SimulatorError(
      400,
      SPRING.notValid,
      `Validation failed for object='standardBusinessDocument'. Error count: ${errors.length} (${details})`,
      { errors },
    );
  }
  const message = errors.map((e) => `createAndSendMessage.sbd.${e.field}: ${e.defaultMessage}`).join(', ');
  return new SimulatorError(400, SPRING.constraintViolation, message, { errors });
}

/** A structurally broken SBD (§5.1): 500 for a JSON body, 400 for the multipart `sbd` part. */
function envelopeError(source: SbdSource, message: string): SimulatorError {
  if (source === 'json') return new SimulatorError(500, SPRING.illegalArgument, message);
  return new SimulatorError(
    400,
    SPRING.typeMismatch,
    `Method parameter 'sbd': Failed to convert value of type 'java.lang.String' to required type 'no.difi.meldingsutveksling.domain.sbdh.StandardBusinessDocument'; ${message}`,
  );
}

interface ParsedSbd {
  header: StandardBusinessDocumentHeader;
  type: MessageType;
  businessMessage: BusinessMessage;
  /** The standard does not end with `::<type>` (checked later, as the IP does). */
  standardMismatch: boolean;
}

/**
 * The deserializer's envelope rules and bean validation of the header. The `::<type>` suffix of the standard is not
 * bean validation in the IP but a later check, so it is taken out of the schema check here and reported separately.
 */
function parse(raw: unknown, source: SbdSource): ParsedSbd {
  const identification = valueAt(raw, ['standardBusinessDocumentHeader', 'documentIdentification']) as Record<string, unknown> | undefined;
  let value = raw;
  let standardMismatch = false;
  let originalStandard: string | undefined;
  if (identification && typeof identification.standard === 'string' && typeof identification.type === 'string') {
    const { standard, type } = identification as { standard: string; type: string };
    standardMismatch = !standard.endsWith(`::${type.toLowerCase()}`);
    if (!standard.endsWith(`::${type}`)) {
      originalStandard = standard;
      value = structuredClone(raw);
      (valueAt(value, ['standardBusinessDocumentHeader', 'documentIdentification']) as Record<string, unknown>).standard = `${standard}::${type}`;
    }
  }

  let parts;
  try {
    parts = parseSbd(value);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    if (!err.issues.length) throw envelopeError(source, err.message);
    throw constraintViolation(
      source,
      err.issues.map((issue) => {
        const rejected = valueAt(raw, issue.path);
        return fieldError(raw, issue.path, issue.message, constraintCode(issue, rejected));
      }),
    );
  }
  if (originalStandard !== undefined) parts.header.documentIdentification.standard = originalStandard;

  // @Future on expectedResponseDateTime
  const now = Date.now();
  const errors: FieldErrorBody[] = [];
  parts.header.businessScope.scope.forEach((scope, i) => {
    scope.scopeInformation?.forEach((info, j) => {
      if (info.expectedResponseDateTime !== undefined && !(parseDateTime(info.expectedResponseDateTime) > now)) {
        const path = ['standardBusinessDocumentHeader', 'businessScope', 'scope', i, 'scopeInformation', j, 'expectedResponseDateTime'];
        errors.push(fieldError(raw, path, 'must be a future date', 'Future'));
      }
    });
  });
  if (errors.length) throw constraintViolation(source, errors);
  return { ...parts, standardMismatch };
}

export interface CheckContext {
  registry: ServiceRegistry;
  /** The organisation the simulator sends for by default (the IP's difi.move.org.number). */
  defaultOrgnr: string;
  /** messageId already used by an outgoing message or (unless type status) a conversation. */
  messageIdInUse: (messageId: string, type: MessageType) => boolean;
}

/**
 * Validates an SBD for create and fills in the IP's defaults, in the IP's order: envelope and bean validation,
 * document-type fit, service-registry lookup, defaults, duplicate messageId, service and type-specific checks.
 */
export function checkNewMessage(raw: unknown, source: SbdSource, ctx: CheckContext): NewMessage {
  const { header, type, businessMessage, standardMismatch } = parse(raw, source);
  const identification = header.documentIdentification;
  if (standardMismatch) {
    throw new SimulatorError(400, 'MessageTypeDoesNotFitDocumentTypeException', `Message type ${type} does not match the document type ${identification.standard}`);
  }

  const scope = conversationScope(header)!;
  const process = scope.identifier!;
  const receiverValue = header.receiver?.[0]?.identifier.value;
  let capability: Capability | undefined;
  let serviceIdentifier: ServiceIdentifier;
  if (receiverValue === undefined) {
    serviceIdentifier = type === 'print' ? 'DPI' : 'UNKNOWN';
  } else {
    const level = (businessMessage as { sikkerhetsnivaa?: number }).sikkerhetsnivaa;
    capability = ctx.registry.resolve(primaryIdentifier(receiverValue), process, identification.standard, level);
    serviceIdentifier = capability.serviceIdentifier;
  }

  // Defaults (§5.3)
  onBehalfOf(header, ctx);
  if (!header.sender?.length) {
    header.sender = [{ identifier: { value: `0192:${ctx.defaultOrgnr}`, authority: IDENTIFIER_AUTHORITY } }];
  }
  identification.instanceIdentifier ??= randomUUID();
  identification.creationDateAndTime ??= offsetDateTime();
  const info = scope.scopeInformation?.[0];
  if (info?.expectedResponseDateTime === undefined) {
    const ttl = offsetDateTime(new Date(Date.now() + DEFAULT_TTL_MS));
    if (info) info.expectedResponseDateTime = ttl;
    else scope.scopeInformation = [{ expectedResponseDateTime: ttl }];
  }
  if (serviceIdentifier === 'DPH' && !scope.instanceIdentifier) scope.instanceIdentifier = identification.instanceIdentifier;
  for (const s of header.businessScope.scope) if (!s.instanceIdentifier) s.instanceIdentifier = randomUUID();
  if (type === 'print') printDefaults(businessMessage, receiverValue !== undefined ? capability : undefined);

  const messageId = identification.instanceIdentifier;
  if (ctx.messageIdInUse(messageId, type)) {
    throw new SimulatorError(400, 'MessageAlreadyExistsException', `Message with messageId = ${messageId} already exists`);
  }
  if (serviceIdentifier === 'UNKNOWN') {
    throw new SimulatorError(400, 'ServiceNotEnabledException', `Service ${serviceIdentifier} is not enabled`);
  }
  if (type === 'print') checkPrintAddresses(businessMessage);
  if (serviceIdentifier === 'DPH') {
    if (header.sender[0].identifier.authority !== 'nhn-actorid') {
      throw untemplated('SenderException', 'Sender have to be a nhn-actorid for DPH messages!');
    }
    if (header.receiver?.[0]?.identifier.authority !== 'nhn-actorid') {
      throw untemplated('ReceiverException', 'Receiver have to be a nhn-actorid for DPH messages!');
    }
  }

  const sender = header.sender[0].identifier.value;
  const sbd: StandardBusinessDocument = { standardBusinessDocumentHeader: header, [type]: businessMessage };
  return {
    sbd,
    type,
    businessMessage,
    messageId,
    conversationId: scope.instanceIdentifier!,
    process,
    standard: identification.standard,
    sender,
    senderIdentifier: partOrPrimaryIdentifier(sender),
    receiver: receiverValue,
    receiverIdentifier: receiverValue !== undefined ? primaryIdentifier(receiverValue) : undefined,
    serviceIdentifier,
    expiry: parseDateTime(scope.scopeInformation![0].expectedResponseDateTime!),
  };
}

/** A 400 for an exception that has no text in the IP's messages.properties: the IP shows its fallback format. */
export function untemplated(exception: string, ...args: string[]): SimulatorError {
  return new SimulatorError(400, exception, `--no.difi.meldingsutveksling.exceptions.${exception}-- [${args.join(', ')}]`);
}

/** A `0192:<orgnr>` sender that is not one of the simulator's own organisations is sent on its behalf. */
function onBehalfOf(header: StandardBusinessDocumentHeader, ctx: CheckContext): void {
  const id = header.sender?.[0]?.identifier;
  if (!id || id.authority !== IDENTIFIER_AUTHORITY) return;
  const m = /^(?:0192:)?(\d{9})$/.exec(id.value);
  if (!m || ctx.registry.isHosted(m[1])) return;
  id.value = `0192:${ctx.defaultOrgnr}:${m[1]}`;
}

type Address = Record<string, string | undefined>;

function printDefaults(message: BusinessMessage, capability: Capability | undefined): void {
  const print = message as { utskriftsfarge?: string; posttype?: string; mottaker?: Address; retur?: { mottaker?: Address; returhaandtering?: string } };
  print.utskriftsfarge ??= 'SORT_HVIT';
  print.posttype ??= 'B_OEKONOMI';
  if (!capability) return;
  print.mottaker ??= {};
  print.retur ??= { mottaker: {}, returhaandtering: 'DIREKTE_RETUR' };
  print.retur.mottaker ??= {};
  fillAddress(print.mottaker, capability.postAddress);
  fillAddress(print.retur.mottaker, capability.returnAddress);
}

function fillAddress(target: Address, source: Capability['postAddress']): void {
  if (!source) return;
  if (!target.navn) target.navn = source.name;
  if (!target.adresselinje1 && source.street) {
    source.street.split(';').slice(0, 4).forEach((line, i) => (target[`adresselinje${i + 1}`] = line));
  }
  if (!target.postnummer) target.postnummer = source.postalCode;
  if (!target.poststed) target.poststed = source.postalArea;
  if (!target.land) target.land = source.country;
}

function isNorwegian(address: Address): boolean {
  const country = address.land;
  return country === undefined || /^(norge|norway)$/i.test(country);
}

function checkPrintAddresses(message: BusinessMessage): void {
  const print = message as { mottaker?: Address; retur?: { mottaker?: Address } };
  const incomplete = (a: Address) => !a.adresselinje1 || (isNorwegian(a) && (!a.postnummer || !a.poststed));
  const missing = (field: string) => untemplated('MissingAddressInformationException', field);
  if (!print.mottaker) throw missing('mottaker');
  if (incomplete(print.mottaker)) throw missing('mottaker.postnummer/poststed/adresselinje1');
  if (!print.retur?.mottaker) throw missing('retur');
  if (incomplete(print.retur.mottaker)) throw missing('retur.postnummer/poststed/adresselinje1');
}
