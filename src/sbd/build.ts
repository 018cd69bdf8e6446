import { randomUUID } from 'node:crypto';
import { DateTime, Uuid } from '../schemas/common';
import { ValidationError } from '../schemas/format';
import type { Capability } from '../schemas/capabilities';
import {
  BUSINESS_MESSAGES,
  IDENTIFIER_AUTHORITY,
  MESSAGE_TYPES,
  isMessageType,
  parseSbd,
  type MessageType,
  type Scope,
  type StandardBusinessDocument,
} from '../schemas/sbd';
import { offsetDateTime } from './datetime';
import { issuesToError } from './issues';

/** What a flow gives to build an SBD; everything else gets the IP's usual values. */
export interface SbdInput {
  /** Own organisation number; absent = the IP fills in its own (difi.move.org.number). */
  sender?: string;
  /** `910000009`, `0192:910000009` or an 11-digit person id. Only `print` may go without one. */
  receiver?: string;
  /** Process URN, e.g. urn:no:difi:profile:arkivmelding:administrasjon:ver1.0 */
  process: string;
  /** Business message type, e.g. `arkivmelding` (case-insensitive). */
  type: string;
  /** Document type URN; must end with `::<type>`. Default: from `capability`, else the IP's usual one. */
  standard?: string;
  /** The receiver's capability (from a capabilities lookup) whose document type gives the standard. */
  capability?: Capability;
  /** The body of the business message, e.g. `{ hoveddokument: 'vedtak.pdf', sikkerhetsnivaa: 3 }`. */
  businessMessage?: Record<string, unknown>;
  /** UUID; generated when absent. */
  messageId?: string;
  /** UUID; generated when absent. */
  conversationId?: string;
  /** Time to live in hours; sets expectedResponseDateTime. Absent (and no expectedResponseDateTime) = the IP's default, 24 h. */
  ttlHours?: number;
  /** When the message expires; must be in the future. */
  expectedResponseDateTime?: string | Date;
  /** Default "2.0", as the IP and its examples use for every type. */
  typeVersion?: string;
  /** Sender's reference (a UUID), carried in the SenderRef scope. */
  senderRef?: string;
  /** Receiver's reference, carried in the ReceiverRef scope. */
  receiverRef?: string;
}

export const DEFAULT_TYPE_VERSION = '2.0';

const UUID_EXAMPLE = '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13';
const PROCESS_EXAMPLE = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
/** Any URN without spaces; the receiver's capabilities decide which processes are real. */
const PROCESS_URN = /^urn:[a-z0-9][a-z0-9-]*:\S+$/i;

/** How a value appears in an error: strings quoted, numbers as written, objects and arrays by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value instanceof Date) return value.toString();
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * `910000009` or `0192:910000009` → `{ value: '0192:910000009', authority: 'iso6523-actorid-upis' }`;
 * an 11-digit person id is kept as it is. Spaces are ignored (`910 000 009`).
 *
 * Check digits are not verified: Digdir's test organisation numbers (910000009, 920000008, …) do not pass
 * the MOD11 check of Brønnøysundregistrene, and real IPs accept them in test environments.
 */
export function toIdentifier(value: string, field: string): { value: string; authority: typeof IDENTIFIER_AUTHORITY } {
  const raw: unknown = value; // flows may hand over a number
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.replace(/\s+/g, '') : undefined;
  const match = text === undefined ? null : /^(?:0192:)?(\d{9})$/.exec(text);
  if (match) return { value: `0192:${match[1]}`, authority: IDENTIFIER_AUTHORITY };
  if (text !== undefined && /^\d{11}$/.test(text)) return { value: text, authority: IDENTIFIER_AUTHORITY };
  throw new ValidationError(
    `${field}: expected an organisation number (9 digits, optionally 0192:) or an 11-digit person id, got ${describeValue(value)}`,
  );
}

/** Absent, null and '' all mean "not given" (an empty editor field or msg property). */
function given<T>(value: T | null | undefined | ''): value is T {
  return value !== undefined && value !== null && value !== '';
}

function checkUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !Uuid.safeParse(value).success) {
    throw new ValidationError(`${field}: expected a UUID such as ${UUID_EXAMPLE}, got ${describeValue(value)}`);
  }
  return value;
}

function checkType(value: unknown): MessageType {
  const type = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!type) throw new ValidationError(`type: expected a message type such as arkivmelding, got ${describeValue(value)}`);
  if (!isMessageType(type)) {
    throw new ValidationError(`type: unknown message type ${describeValue(value)}, expected one of ${MESSAGE_TYPES.join(', ')}`);
  }
  return type;
}

function checkProcess(value: unknown): string {
  const process = typeof value === 'string' ? value.trim() : '';
  if (!PROCESS_URN.test(process)) {
    throw new ValidationError(`process: expected a process URN such as ${PROCESS_EXAMPLE}, got ${describeValue(value)}`);
  }
  return process;
}

/** The standard given, else the one the receiver's capability lists for the type, else the IP's usual one. */
function chooseStandard(input: SbdInput, type: MessageType): string {
  if (given(input.standard)) {
    const standard = typeof input.standard === 'string' ? input.standard.trim() : '';
    if (!standard) throw new ValidationError(`standard: expected a document type URN ending with "::${type}", got ${describeValue(input.standard)}`);
    if (!standard.endsWith(`::${type}`)) throw new ValidationError(`standard ${describeValue(standard)} must end with "::${type}"`);
    return standard;
  }
  const fromCapability = input.capability?.documentTypes?.find(
    (d) => d.type?.toLowerCase() === type || d.standard.endsWith(`::${type}`),
  );
  return fromCapability?.standard ?? BUSINESS_MESSAGES[type].standard;
}

function expectedResponse(input: SbdInput, now: Date): string | undefined {
  const { ttlHours, expectedResponseDateTime } = input;
  if (given(ttlHours) && given(expectedResponseDateTime)) {
    throw new ValidationError('ttlHours and expectedResponseDateTime: give only one of them');
  }
  if (given(ttlHours)) {
    const hours = typeof ttlHours === 'string' && (ttlHours as string).trim() !== '' ? Number(ttlHours) : ttlHours;
    if (typeof hours !== 'number' || !Number.isFinite(hours) || hours <= 0) {
      throw new ValidationError(`ttlHours: expected a positive number of hours, got ${describeValue(ttlHours)}`);
    }
    return offsetDateTime(new Date(now.getTime() + hours * 3_600_000));
  }
  if (given(expectedResponseDateTime)) {
    let text: string;
    let time: number;
    if (expectedResponseDateTime instanceof Date) {
      time = expectedResponseDateTime.getTime();
      text = Number.isNaN(time) ? '' : offsetDateTime(expectedResponseDateTime);
    } else {
      text = typeof expectedResponseDateTime === 'string' ? expectedResponseDateTime.trim() : '';
      time = DateTime.safeParse(text).success ? Date.parse(text) : NaN;
    }
    if (Number.isNaN(time)) {
      throw new ValidationError(
        `expectedResponseDateTime: expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00, got ${describeValue(expectedResponseDateTime)}`,
      );
    }
    if (time <= now.getTime()) {
      throw new ValidationError(`expectedResponseDateTime: must be in the future, got ${describeValue(text)}`);
    }
    return text;
  }
  return undefined;
}

/**
 * Builds a StandardBusinessDocument that the IP accepts (§5 of the IP reference): header version 1.0,
 * sender/receiver as ISO 6523 identifiers, document identification, the ConversationId scope with the process,
 * optional SenderRef/ReceiverRef scopes, and the business message under the lower-case type name.
 * Throws a ValidationError naming the field for any bad input.
 */
export function buildSbd(input: SbdInput): StandardBusinessDocument {
  if (typeof input !== 'object' || input === null) throw new ValidationError('SBD input: expected an object');
  const type = checkType(input.type);
  const process = checkProcess(input.process);
  const standard = chooseStandard(input, type);

  const receiver = given(input.receiver) ? toIdentifier(input.receiver, 'receiver') : undefined;
  if (!receiver && type !== 'print') {
    throw new ValidationError("receiver: expected the receiver's organisation number (e.g. 910000009) or 11-digit person id");
  }
  const sender = given(input.sender) ? toIdentifier(input.sender, 'sender') : undefined;

  const messageId = given(input.messageId) ? checkUuid(input.messageId, 'messageId') : randomUUID();
  const conversationId = given(input.conversationId) ? checkUuid(input.conversationId, 'conversationId') : randomUUID();

  let typeVersion = DEFAULT_TYPE_VERSION;
  if (given(input.typeVersion)) {
    if (typeof input.typeVersion !== 'string' || !input.typeVersion.trim()) {
      throw new ValidationError(`typeVersion: expected a version such as "2.0", got ${describeValue(input.typeVersion)}`);
    }
    typeVersion = input.typeVersion.trim();
  }

  const businessMessage = input.businessMessage ?? {};
  if (typeof businessMessage !== 'object' || businessMessage === null || Array.isArray(businessMessage)) {
    throw new ValidationError(`businessMessage: expected an object (the body of the "${type}" message), got ${describeValue(businessMessage)}`);
  }
  const checked = BUSINESS_MESSAGES[type].schema.safeParse(businessMessage);
  if (!checked.success) throw issuesToError(checked.error, 'businessMessage');

  const now = new Date();
  const expectedResponseDateTime = expectedResponse(input, now);

  const conversation: Scope = { type: 'ConversationId', instanceIdentifier: conversationId, identifier: process };
  if (expectedResponseDateTime) conversation.scopeInformation = [{ expectedResponseDateTime }];
  const scope: Scope[] = [conversation];
  if (given(input.senderRef)) scope.push({ type: 'SenderRef', instanceIdentifier: checkUuid(input.senderRef, 'senderRef') });
  if (given(input.receiverRef)) {
    if (typeof input.receiverRef !== 'string' || !input.receiverRef.trim()) {
      throw new ValidationError(`receiverRef: expected the receiver's reference as text, got ${describeValue(input.receiverRef)}`);
    }
    scope.push({ type: 'ReceiverRef', instanceIdentifier: input.receiverRef.trim() });
  }

  const sbd: StandardBusinessDocument = {
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      ...(sender ? { sender: [{ identifier: sender }] } : {}),
      ...(receiver ? { receiver: [{ identifier: receiver }] } : {}),
      documentIdentification: {
        standard,
        typeVersion,
        instanceIdentifier: messageId,
        type,
        creationDateAndTime: offsetDateTime(now),
      },
      businessScope: { scope },
    },
    [type]: { ...businessMessage },
  };
  parseSbd(sbd);
  return sbd;
}
