import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/*
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it, without channel binding: the client
 * proves it knows the password without sending it, and the server proves it knows the verifier,
 * so a server that skips the proof is refused. PostgreSQL takes the user from the start-up
 * message, so the SCRAM user name is left empty, as libpq does.
 */

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
const GS2_HEADER = 'n,,';
const pbkdf2Async = promisify(pbkdf2);

/**
 * Salted passwords already derived in this process, by password digest, salt and iterations. The
 * derivation (4,096 rounds of HMAC-SHA-256 by default) is the client's whole cost of a login, and
 * a snapshot of 20 probes of one database, or a monitor sampling every few seconds, would pay it
 * at every connection; a derivation in flight is shared. What is kept is as secret as the password
 * the process already holds, and never leaves it.
 */
const derived = new Map<string, Promise<Buffer>>();
const KEPT_DERIVATIONS = 32;

function derive(password: string, salt: string, iterations: number): Promise<Buffer> {
  const key = `${createHash('sha256').update(password).digest('hex')}:${salt}:${iterations}`;
  let salted = derived.get(key);
  if (!salted) {
    if (derived.size >= KEPT_DERIVATIONS) derived.clear();
    salted = pbkdf2Async(password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    salted.catch(() => derived.delete(key));
    derived.set(key, salted);
  }
  return salted;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0] as string, part.slice(2));
  }
  return map;
}

/** One SCRAM exchange: `first()`, then `final(serverFirst)`, then `verify(serverFinal)`. */
export class ScramClient {
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  /** `nonce` and `user` are for known-answer tests; PostgreSQL ignores the SCRAM user name. */
  constructor(
    private readonly password: string,
    nonce = randomBytes(18).toString('base64'),
    user = '',
  ) {
    this.clientNonce = nonce;
    this.clientFirstBare = `n=${user},r=${nonce}`;
  }

  /** The client-first-message (sent in SASLInitialResponse). */
  first(): string {
    return `${GS2_HEADER}${this.clientFirstBare}`;
  }

  /** The client-final-message with the proof, for the server-first-message. */
  async final(serverFirst: string): Promise<string> {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1) throw new Error('the server sent a malformed SCRAM challenge');
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) throw new Error('the server sent a SCRAM nonce that is not based on ours');
    // SASLprep is approximated by NFKC, its normalisation step; plain ASCII passwords are unchanged.
    const salted = await derive(this.password.normalize('NFKC'), salt, iterations);
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(sha256(clientKey), authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] as number)));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final-message: the server must know the verifier. */
  verify(serverFinal: string): void {
    const attrs = attributes(serverFinal);
    const error = attrs.get('e');
    if (error) throw new Error(`the server ended SCRAM authentication: ${error}`);
    const given = Buffer.from(attrs.get('v') ?? '', 'base64');
    const expected = this.serverSignature;
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new Error('the server could not prove it knows the password (SCRAM server signature mismatch)');
    }
  }
}
