import { describe, expect, it } from 'vitest';
import { ConnectionError, ServerError } from './connection.js';
import { endedSession } from './messages.js';
import { ScramClient } from './scram.js';
import { parseConnectionUrl } from './url.js';
import { probeValue } from './values.js';
import { FrameReader, parseDataRow, parseFields } from './wire.js';

describe('SCRAM-SHA-256', () => {
  // The known-answer exchange of RFC 7677, section 3.
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  const client = () => new ScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');

  it('computes the RFC 7677 proof and checks the server signature', async () => {
    const scram = client();
    expect(scram.first()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(await scram.final(serverFirst)).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(() => scram.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).not.toThrow();
  });

  it('refuses a server that cannot prove it knows the password, or that ends the exchange', async () => {
    const scram = client();
    await scram.final(serverFirst);
    expect(() => scram.verify('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toThrow('the server could not prove it knows the password (SCRAM server signature mismatch)');
    expect(() => scram.verify('e=invalid-proof')).toThrow('the server ended SCRAM authentication: invalid-proof');
    expect(() => new ScramClient('x').verify('v=abc')).toThrow('SCRAM server signature mismatch');
  });

  it('refuses a malformed challenge and a nonce that is not based on ours', async () => {
    await expect(client().final('r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==')).rejects.toThrow('the server sent a malformed SCRAM challenge');
    await expect(client().final('r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).rejects.toThrow('the server sent a SCRAM nonce that is not based on ours');
    await expect(client().final('r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).rejects.toThrow('not based on ours');
  });
});

describe('wire frames', () => {
  const frame = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };

  it('frames messages split across chunks, and several in one chunk', () => {
    const reader = new FrameReader();
    const bytes = Buffer.concat([frame('Z', Buffer.from('I')), frame('C', Buffer.from('SELECT 1\0'))]);
    expect(reader.push(bytes.subarray(0, 3))).toEqual([]);
    expect(reader.push(bytes.subarray(3, 7)).map((m) => m.type)).toEqual(['Z']);
    const rest = reader.push(bytes.subarray(7));
    expect(rest.map((m) => [m.type, m.body.toString()])).toEqual([['C', 'SELECT 1\0']]);
  });

  it('refuses a frame whose length cannot be', () => {
    const bad = Buffer.from([0x45, 0, 0, 0, 2]);
    expect(() => new FrameReader().push(bad)).toThrow('malformed message from the server (length 2)');
  });

  it('reads error fields and data rows, NULL included', () => {
    expect(parseFields(Buffer.from('SERROR\0C42P01\0Mno table\0\0'))).toEqual({ S: 'ERROR', C: '42P01', M: 'no table' });
    expect(parseFields(Buffer.from('Cunterminated'))).toEqual({});
    const row = Buffer.alloc(2 + 4 + 2 + 4);
    row.writeInt16BE(2, 0);
    row.writeInt32BE(2, 2);
    row.write('42', 6);
    row.writeInt32BE(-1, 8);
    expect(parseDataRow(row)).toEqual(['42', null]);
  });

  it('gives oid values as numbers', () => {
    expect(probeValue('16384', 26)).toBe(16384);
    expect(probeValue('Infinity', 701)).toBe('Infinity');
  });
});

describe('connection URLs', () => {
  it('reads user, password, host, port, database and sslmode', () => {
    expect(parseConnectionUrl('postgres://app:p%40ss@db.internal:6432/shop?sslmode=verify-full', 'DB_URL')).toEqual({
      host: 'db.internal',
      port: 6432,
      user: 'app',
      password: 'p@ss',
      database: 'shop',
      sslmode: 'verify-full',
    });
  });

  it('defaults as libpq: localhost, 5432, the user as database; allow is prefer; host= for a socket dir', () => {
    expect(parseConnectionUrl('postgres:///?user=app', 'U')).toEqual({ host: 'localhost', port: 5432, user: 'app', password: undefined, database: 'app', sslmode: undefined });
    expect(parseConnectionUrl('postgres://app@[::1]/d?sslmode=allow', 'U')).toMatchObject({ host: '::1', sslmode: 'prefer' });
    expect(parseConnectionUrl('postgresql:///d?host=/run/postgresql&user=app&password=pw&port=5433', 'U')).toMatchObject({ host: '/run/postgresql', port: 5433, user: 'app', password: 'pw', database: 'd' });
    expect(parseConnectionUrl('postgres://app@h?dbname=shop', 'U').database).toBe('shop');
    expect(parseConnectionUrl('postgres://app:%E0%A4%A@h/d', 'U').password).toBe('%E0%A4%A');
  });

  it('says what is wrong without quoting the URL (it holds the password)', () => {
    const error = (url: string) => {
      try {
        parseConnectionUrl(url, 'DB_URL');
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(error('not a url s3cret')).toBe('DB_URL does not hold a valid URL; write it as postgres://user:password@host:5432/database');
    expect(error('mysql://u:s3cret@h/d')).toBe('DB_URL holds a mysql: URL; expected postgres://user:password@host:5432/database');
    expect(error('postgres://:s3cret@h/d')).toBe('the URL in DB_URL names no user; write it as postgres://user:password@host:5432/database');
    expect(error('postgres://u:s3cret@h/d?port=0')).toBe('the URL in DB_URL has a port that is not one');
    expect(error('postgres://u:s3cret@h/d?sslmode=sometimes')).toBe('the URL in DB_URL has sslmode=sometimes; expected one of disable, allow, prefer, require, verify-ca, verify-full');
  });
});

describe('endedSession', () => {
  it('tells a session the server ended from a query that failed or was cancelled', () => {
    const server = (code: string) => new ServerError({ C: code, M: 'x' });
    for (const code of ['57P01', '57P02', '57P03', '57P05', '08006', '08003']) expect(endedSession(server(code)), code).toBe(true);
    for (const code of ['57014', '42703', '25006', '']) expect(endedSession(server(code)), code).toBe(false);
    expect(endedSession(new ConnectionError('gone', 'closed'))).toBe(true);
    expect(endedSession(new ConnectionError('reset', 'socket'))).toBe(true);
    expect(endedSession(new ConnectionError('bad', 'protocol'))).toBe(false);
    expect(endedSession(new Error('other'))).toBe(false);
  });
});
