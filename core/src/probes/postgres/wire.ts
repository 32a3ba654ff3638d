/*
 * PostgreSQL's frontend/backend protocol, version 3.0: the few messages a read-only probe sends
 * and the frames it reads back. Every message but the start-up ones is a type byte, an int32
 * length that counts itself, and a body (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 */

const PROTOCOL_3_0 = 196_608;
const SSL_REQUEST_CODE = 80_877_103;
const CANCEL_REQUEST_CODE = 80_877_102;

/** A backend message: its type byte as a character and its body. */
export interface BackendMessage {
  type: string;
  body: Buffer;
}

/** A column of a row description: its name and the OID of its type. */
export interface Column {
  name: string;
  typeOid: number;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

/** A typed frontend message: type byte, length, body. */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body]);
}

/** The start-up message: protocol 3.0 and the parameters (user, database, run-time settings). */
export function startupMessage(parameters: Record<string, string>): Buffer {
  const pairs = Object.entries(parameters).flatMap(([k, v]) => [cstring(k), cstring(v)]);
  const body = Buffer.concat([int32(PROTOCOL_3_0), ...pairs, Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export function sslRequest(): Buffer {
  return Buffer.concat([int32(8), int32(SSL_REQUEST_CODE)]);
}

/** Sent on a new connection: asks the server to cancel what backend `pid` runs. */
export function cancelRequest(pid: number, secret: number): Buffer {
  return Buffer.concat([int32(16), int32(CANCEL_REQUEST_CODE), int32(pid), int32(secret)]);
}

export function passwordMessage(password: string): Buffer {
  return message('p', cstring(password));
}

export function saslInitialResponse(mechanism: string, data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  return message('p', cstring(mechanism), int32(bytes.length), bytes);
}

export function saslResponse(data: string): Buffer {
  return message('p', Buffer.from(data, 'utf8'));
}

export function simpleQuery(sql: string): Buffer {
  return message('Q', cstring(sql));
}

/**
 * One statement through the extended protocol: parse, bind with text results, describe, execute
 * for at most `maxRows` rows, sync. The server refuses more than one statement here, so a query
 * cannot end the read-only transaction and go on in another.
 */
export function extendedQuery(sql: string, maxRows: number): Buffer {
  return Buffer.concat([
    message('P', cstring(''), cstring(sql), int16(0)),
    message('B', cstring(''), cstring(''), int16(0), int16(0), int16(0)),
    message('D', Buffer.from('P', 'latin1'), cstring('')),
    message('E', cstring(''), int32(maxRows)),
    message('S'),
  ]);
}

export function terminate(): Buffer {
  return message('X');
}

/** Frames backend messages out of the bytes a socket delivers in chunks of any size. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the messages they complete. */
  push(chunk: Buffer): BackendMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: BackendMessage[] = [];
    while (this.pending.length >= 5) {
      const length = this.pending.readInt32BE(1);
      if (length < 4) throw new Error(`malformed message from the server (length ${length})`);
      if (this.pending.length < length + 1) break;
      out.push({ type: String.fromCharCode(this.pending[0] as number), body: this.pending.subarray(5, length + 1) });
      this.pending = this.pending.subarray(length + 1);
    }
    return out;
  }
}

/** The fields of an ErrorResponse or NoticeResponse, by their one-letter codes (C, M, D, H…). */
export function parseFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at] as number);
    const end = body.indexOf(0, at + 1);
    if (end < 0) break;
    fields[code] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return fields;
}

/** A ParameterStatus body: name and value. */
export function parseParameter(body: Buffer): [string, string] {
  const end = body.indexOf(0);
  return [body.toString('utf8', 0, end), body.toString('utf8', end + 1, body.indexOf(0, end + 1))];
}

export function parseRowDescription(body: Buffer): Column[] {
  const count = body.readInt16BE(0);
  const columns: Column[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, at);
    const name = body.toString('utf8', at, end);
    at = end + 1;
    // table OID (4), column number (2), then the type OID; size, modifier and format follow (8).
    columns.push({ name, typeOid: body.readInt32BE(at + 6) });
    at += 18;
  }
  return columns;
}

/** A DataRow's values as text; `null` for SQL NULL. */
export function parseDataRow(body: Buffer): (string | null)[] {
  const count = body.readInt16BE(0);
  const values: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) {
      values.push(null);
      continue;
    }
    values.push(body.toString('utf8', at, at + length));
    at += length;
  }
  return values;
}

/** The SASL mechanisms an AuthenticationSASL body offers (after its int32 code). */
export function parseMechanisms(body: Buffer): string[] {
  return body
    .toString('utf8', 4)
    .split('\0')
    .filter((m) => m !== '');
}
