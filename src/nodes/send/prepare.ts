import { randomUUID } from 'node:crypto';
import { guessMimeType } from '../../schemas/mime';
import { ARKIVMELDING_FILENAME, buildArkivmeldingXml, type ArkivmeldingInput } from '../../sbd/arkivmelding';
import { buildSbd, toIdentifier } from '../../sbd/build';
import { MESSAGE_TYPES, isMessageType, parseSbd, type StandardBusinessDocument } from '../../schemas/sbd';
import type { Capability } from '../../schemas/capabilities';
import { collectFiles, type OutgoingFile } from './files';
import type { NodeMessage } from '../shared/types';

export const DEFAULT_PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
export const DEFAULT_DOCUMENT_TYPE = 'arkivmelding';

/** Types the IP sends without attachments (§6.4); every other type needs at least one file. */
const TYPES_WITHOUT_FILES = new Set(['status', 'arkivmelding_kvittering', 'einnsyn_kvittering', 'dialogmelding_kvittering', 'avtalt']);

/** A value with the name of where it came from, for error messages (msg.receiver, receiver, flow.x). */
export interface Sourced<T> {
  value: T | undefined;
  field: string;
}

export interface SendInput {
  /** The config node's organisation number: the default sender. */
  orgnr?: string;
  receiver: Sourced<unknown>;
  process: Sourced<string>;
  documentType: Sourced<string>;
  /** The receiver's capability (msg.capability): its document type gives the SBD's standard. */
  capability?: Capability;
  msg: NodeMessage;
}

/** A message ready to go: a valid SBD with its messageId, and the checked files in upload order. */
export interface PreparedMessage {
  sbd: StandardBusinessDocument;
  messageId: string;
  files: OutgoingFile[];
}

/** Renames the field at the start of a builder's error ("receiver: …") to where the value came from. */
function renameField(err: unknown, fields: Record<string, string>): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  const match = /^([A-Za-z]+)([.[:\s])/.exec(error.message);
  const renamed = match && fields[match[1]];
  if (renamed) error.message = renamed + error.message.slice(match[1].length);
  return error;
}

function objectOrUndefined(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new Error(`${field}: expected an object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** For arkivmelding without an arkivmelding.xml file: generate one from msg.arkivmelding listing the files. */
function addArkivmeldingXml(files: OutgoingFile[], arkivmelding: unknown): OutgoingFile[] {
  if (files.some((f) => f.filename === ARKIVMELDING_FILENAME)) return files;
  if (arkivmelding === undefined || arkivmelding === null) {
    throw new Error(
      `msg.arkivmelding: an arkivmelding needs an ${ARKIVMELDING_FILENAME}; give msg.arkivmelding (at least { "tittel": "…" }) to generate it, or send a file named ${ARKIVMELDING_FILENAME}`,
    );
  }
  let xml: string;
  try {
    xml = buildArkivmeldingXml(arkivmelding as ArkivmeldingInput, files.map((f) => ({ filename: f.filename, mimeType: f.mimeType, title: f.title })));
  } catch (err) {
    throw renameField(err, { arkivmelding: 'msg.arkivmelding', files: 'msg.files' });
  }
  const content = Buffer.from(xml, 'utf8');
  return [...files, { filename: ARKIVMELDING_FILENAME, mimeType: guessMimeType(ARKIVMELDING_FILENAME), size: content.length, content }];
}

/** hoveddokument: the one given (it must be among the files), else the first real document. */
function primaryDocument(businessMessage: Record<string, unknown>, files: OutgoingFile[], field: string): void {
  const given = businessMessage.hoveddokument;
  const names = files.map((f) => f.filename);
  if (given !== undefined && given !== null && given !== '') {
    if (typeof given !== 'string' || !names.includes(given)) {
      throw new Error(`${field}.hoveddokument: ${JSON.stringify(given)} is not among the files (${names.join(', ') || 'none'})`);
    }
    return;
  }
  const first = files.find((f) => f.filename !== ARKIVMELDING_FILENAME);
  if (first) businessMessage.hoveddokument = first.filename;
}

/**
 * Builds and checks everything before any request: the files (exist, readable, safe unique names, sizes),
 * the SBD (from msg.sbd, or from the node's settings and msg), the generated arkivmelding.xml, hoveddokument.
 * Errors name the field: `msg.receiver: …`, `msg.files[1].path: file not found: …`.
 */
export async function prepareMessage(input: SendInput): Promise<PreparedMessage> {
  const { msg } = input;
  let files = await collectFiles(msg);
  const documentCount = files.length;

  let sbd: StandardBusinessDocument;
  if (msg.sbd !== undefined && msg.sbd !== null) {
    const parts = parseSbd(msg.sbd, 'msg.sbd');
    sbd = structuredClone(msg.sbd) as StandardBusinessDocument;
    const identification = sbd.standardBusinessDocumentHeader.documentIdentification;
    identification.instanceIdentifier ??= randomUUID(); // known before the request, so a lost answer can be looked up
    if (parts.type === 'arkivmelding') files = addArkivmeldingXml(files, msg.arkivmelding);
    const body = sbd[parts.type] as Record<string, unknown>;
    primaryDocument(body, files, `msg.sbd.${parts.type}`);
  } else {
    const type = String(input.documentType.value || DEFAULT_DOCUMENT_TYPE).trim().toLowerCase();
    if (!isMessageType(type)) {
      throw new Error(`${input.documentType.field}: unknown message type ${JSON.stringify(input.documentType.value)}, expected one of ${MESSAGE_TYPES.join(', ')}`);
    }
    const businessMessage = { ...(objectOrUndefined(msg.businessMessage, 'msg.businessMessage') ?? {}) };
    if (input.receiver.value === undefined || input.receiver.value === '') {
      throw new Error(`${input.receiver.field}: expected the receiver's organisation number (e.g. 910000009) or 11-digit person id, got nothing`);
    }
    const receiver = toIdentifier(input.receiver.value as string, input.receiver.field).value;
    const fields = {
      receiver: input.receiver.field,
      process: input.process.field,
      type: input.documentType.field,
      standard: input.documentType.field,
      businessMessage: 'msg.businessMessage',
      messageId: 'msg.messageId',
      conversationId: 'msg.conversationId',
      ttlHours: 'msg.ttlHours',
      sender: 'orgnr (configuration)',
    };
    try {
      if (type === 'arkivmelding') files = addArkivmeldingXml(files, msg.arkivmelding);
      primaryDocument(businessMessage, files, 'msg.businessMessage');
      sbd = buildSbd({
        sender: input.orgnr || undefined,
        receiver,
        process: input.process.value || DEFAULT_PROCESS,
        type,
        capability: input.capability,
        businessMessage,
        messageId: msg.messageId as string | undefined,
        conversationId: msg.conversationId as string | undefined,
        ttlHours: msg.ttlHours as number | undefined,
      });
    } catch (err) {
      throw renameField(err, fields);
    }
  }

  const identification = sbd.standardBusinessDocumentHeader.documentIdentification;
  const type = identification.type.toLowerCase();
  if (documentCount === 0 && !TYPES_WITHOUT_FILES.has(type)) {
    throw new Error(`msg.files: a${/^[aeiou]/.test(type) ? 'n' : ''} ${type} message needs at least one file: give msg.payload (a Buffer or string) with msg.filename, or msg.files`);
  }
  return { sbd, messageId: identification.instanceIdentifier as string, files };
}
