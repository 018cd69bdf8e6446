import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatorError } from './errors';
import type { FieldErrorBody } from './errors';

/** Exceptions Spring itself raises, by the class name the IP's error body shows. */
export const SPRING = {
  methodNotSupported: 'org.springframework.web.HttpRequestMethodNotSupportedException',
  mediaTypeNotSupported: 'org.springframework.web.HttpMediaTypeNotSupportedException',
  noResource: 'org.springframework.web.servlet.resource.NoResourceFoundException',
  typeMismatch: 'org.springframework.web.method.annotation.MethodArgumentTypeMismatchException',
  missingHeader: 'org.springframework.web.bind.MissingRequestHeaderException',
  missingParameter: 'org.springframework.web.bind.MissingServletRequestParameterException',
  notReadable: 'org.springframework.http.converter.HttpMessageNotReadableException',
  notValid: 'org.springframework.web.bind.MethodArgumentNotValidException',
  constraintViolation: 'jakarta.validation.ConstraintViolationException',
  illegalArgument: 'java.lang.IllegalArgumentException',
} as const;

/** 200 with an empty body, as a Spring `void` handler answers. */
export function sendEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, status === 204 ? {} : { 'Content-Length': 0 });
  res.end();
}

/** `text/plain;charset=UTF-8` → `text/plain` */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Spring's check of `consumes = application/json`: 415 otherwise. */
export function requireJson(req: IncomingMessage): void {
  const type = mediaType(req);
  if (type !== 'application/json') {
    const shown = req.headers['content-type'] || 'application/octet-stream';
    throw new SimulatorError(415, SPRING.mediaTypeNotSupported, `Content-Type '${shown}' is not supported`);
  }
}

/** Reads a JSON request body (at most `limit` bytes); malformed or missing JSON is Spring's 400. */
export async function readJsonBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new SimulatorError(413, undefined, `Request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new SimulatorError(400, SPRING.notReadable, 'Required request body is missing');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SimulatorError(400, SPRING.notReadable, `JSON parse error: ${(err as Error).message}`);
  }
}

/** A required request header, as `@RequestHeader` checks it. */
export function requireHeader(req: IncomingMessage, name: string): string {
  const value = req.headers[name.toLowerCase()];
  if (value === undefined) {
    throw new SimulatorError(400, SPRING.missingHeader, `Required request header '${name}' for method parameter type String is not present`);
  }
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A numeric path variable (`Long id`): anything else is Spring's 400 type mismatch. */
export function parseLongParam(name: string, value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new SimulatorError(
      400,
      SPRING.typeMismatch,
      `Method parameter '${name}': Failed to convert value of type 'java.lang.String' to required type 'java.lang.Long'; For input string: "${value}"`,
    );
  }
  return Number(value);
}

/** A query parameter bound to a typed field of a query object; conversion failures are collected as field errors. */
export class QueryBinder {
  readonly errors: FieldErrorBody[] = [];

  constructor(private readonly query: URLSearchParams, private readonly objectName: string) {}

  string(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  long(name: string): number | undefined {
    const value = this.query.get(name);
    if (value === null || value === '') return undefined;
    if (/^-?\d+$/.test(value.trim())) return Number(value.trim());
    this.fail(name, value, 'java.lang.Long', `For input string: "${value}"`);
    return undefined;
  }

  boolean(name: string): boolean | undefined {
    const value = this.query.get(name);
    if (value === null || value.trim() === '') return undefined;
    const v = value.trim().toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(v)) return true;
    if (['false', 'off', 'no', '0'].includes(v)) return false;
    this.fail(name, value, 'java.lang.Boolean', `Invalid boolean value [${value}]`);
    return undefined;
  }

  oneOf<T extends string>(name: string, values: readonly T[], javaType: string): T | undefined {
    const value = this.query.get(name);
    if (value === null || value.trim() === '') return undefined;
    if ((values as readonly string[]).includes(value.trim())) return value.trim() as T;
    this.fail(name, value, javaType, `No enum constant ${javaType}.${value}`);
    return undefined;
  }

  /** ISO date-time with offset (`@DateTimeFormat(iso = DATE_TIME)`), as epoch ms. */
  dateTime(name: string): number | undefined {
    const value = this.query.get(name);
    if (value === null || value.trim() === '') return undefined;
    const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value.trim());
    const ms = Date.parse(value.trim());
    if (ok && !Number.isNaN(ms)) return ms;
    this.fail(name, value, 'java.time.OffsetDateTime', `Parse attempt failed for value [${value}]`);
    return undefined;
  }

  /** `yyyy-MM-dd` as local midnight (start) or the last ms of that day (end), in ms. */
  date(name: string, end: boolean): number | undefined {
    const value = this.query.get(name);
    if (value === null || value.trim() === '') return undefined;
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
    if (m) {
      const day = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (!Number.isNaN(day.getTime())) return end ? day.getTime() + 86_400_000 - 1 : day.getTime();
    }
    this.fail(name, value, 'java.time.LocalDate', `Parse attempt failed for value [${value}]`);
    return undefined;
  }

  private fail(field: string, rejectedValue: string, javaType: string, cause: string): void {
    this.errors.push({
      codes: [`typeMismatch.${this.objectName}.${field}`, `typeMismatch.${field}`, `typeMismatch.${javaType}`, 'typeMismatch'],
      defaultMessage: `Failed to convert property value of type 'java.lang.String' to required type '${javaType}' for property '${field}'; ${cause}`,
      objectName: this.objectName,
      field,
      rejectedValue,
      bindingFailure: true,
      code: 'typeMismatch',
    });
  }

  /** Throws the 400 MethodArgumentNotValidException when any parameter failed to bind. */
  check(): void {
    if (!this.errors.length) return;
    const details = this.errors.map((e) => `${e.field}: ${e.defaultMessage}`).join('; ');
    throw new SimulatorError(
      400,
      SPRING.notValid,
      `Validation failed for object='${this.objectName}'. Error count: ${this.errors.length} (${details})`,
      { errors: this.errors },
    );
  }
}

/** An unknown `serviceIdentifier` filter value: the IP's ServiceIdentifier.valueOf throws, which is a 500. */
export function serviceIdentifierFilter(value: string | null, known: readonly string[]): string | undefined {
  if (value === null) return undefined;
  if (!known.includes(value)) {
    throw new SimulatorError(500, SPRING.illegalArgument, `No enum constant no.difi.meldingsutveksling.ServiceIdentifier.${value}`);
  }
  return value;
}

export interface ContentDisposition {
  type: string;
  name?: string;
  filename?: string;
}

/** Splits on `;` outside double quotes. */
function splitParameters(header: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i];
    if (ch === '\\' && quoted && i + 1 < header.length) {
      current += ch + header[++i];
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p, i) => i === 0 || p !== '');
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

/** RFC 5987 `UTF-8''%C3%A6.pdf`; like Spring, only UTF-8 and ISO-8859-1 are accepted. */
function decodeExtended(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!m) throw new SimulatorError(500, SPRING.illegalArgument, `Invalid RFC 5987 value in Content-Disposition: ${value}`);
  const charset = m[1].toUpperCase();
  if (charset !== 'UTF-8' && charset !== 'ISO-8859-1') {
    throw new SimulatorError(500, SPRING.illegalArgument, `Charset must be UTF-8 or ISO-8859-1 in Content-Disposition, got ${m[1]}`);
  }
  const bytes: number[] = [];
  const text = m[2];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], charset === 'UTF-8' ? 'utf8' : 'latin1'));
    }
  }
  return Buffer.from(bytes).toString(charset === 'UTF-8' ? 'utf8' : 'latin1');
}

/**
 * Parses Content-Disposition as Spring's ContentDisposition.parse does: the first token is the type, then
 * `key=value` parameters; a parameter without `=` is a server error. `filename*` wins over `filename`.
 */
export function parseContentDisposition(header: string): ContentDisposition {
  const parts = splitParameters(header);
  const type = parts[0];
  if (!type) throw new SimulatorError(500, SPRING.illegalArgument, 'Content-Disposition header must not be empty');
  const result: ContentDisposition = { type };
  let extendedFilename = false;
  let extendedName = false;
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new SimulatorError(500, SPRING.illegalArgument, `Invalid content disposition format: ${header}`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'filename*') {
      result.filename = decodeExtended(unquote(value));
      extendedFilename = true;
    } else if (key === 'filename' && !extendedFilename) {
      result.filename = unquote(value);
    } else if (key === 'name*') {
      result.name = decodeExtended(unquote(value));
      extendedName = true;
    } else if (key === 'name' && !extendedName) {
      result.name = unquote(value);
    }
  }
  return result;
}
