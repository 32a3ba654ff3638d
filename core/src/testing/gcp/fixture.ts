import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVirtualClock, type VirtualClock } from '../../clocks/virtual.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { fakeDeps } from '../fakes.js';
import { GcpServer, type GcpServerOptions } from '../gcp-server.js';
import type { MemoryProviderStates } from '../state.js';
import { explicit } from '../../targets/cloud-run/traffic.js';

/*
 * The Google double on a virtual clock, with a service account whose key was generated here (its
 * public key registered with the double's token endpoint) written as GOOGLE_APPLICATION_CREDENTIALS,
 * and deps whose `gcp` settings point every API at the double.
 */

export const PROJECT = 'acme-prod';
export const REGION = 'europe-west1';
export const SERVICE_ACCOUNT = 'rollgate@acme-prod.iam.gserviceaccount.com';

export interface GcpFixture {
  server: GcpServer;
  clock: VirtualClock;
  dir: string;
  /** The service account key file (type service_account) and its private key, to check it never leaks. */
  keyFile: string;
  privateKey: string;
  /** The step environment: GOOGLE_APPLICATION_CREDENTIALS naming the key file. */
  env: Record<string, string>;
  /** The `gcp` block of the workflow that points at the double. */
  settings: { project: string; region: string; endpoint: string };
  deps(states: MemoryProviderStates, key?: string): ProviderDeps;
  cleanup(): Promise<void>;
}

/** An RSA key pair as a service account key has one (PKCS#8 PEM private key). */
export function rsaKey(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

/** A service account key file as the console downloads one, naming the double's token endpoint. */
export function serviceAccountKey(server: GcpServer, privateKey: string, email = SERVICE_ACCOUNT): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'k1',
    private_key: privateKey,
    client_email: email,
    client_id: '1234567890',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: `${server.url}/token`,
  });
}

export async function gcpFixture(options: GcpServerOptions = {}): Promise<GcpFixture> {
  const clock = createVirtualClock();
  const server = await new GcpServer({ now: () => clock.now(), ...options }).start();
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-gcp-'));
  const { privateKey, publicKey } = rsaKey();
  server.tokens.keys.set(SERVICE_ACCOUNT, publicKey);
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, serviceAccountKey(server, privateKey));
  const settings = { project: PROJECT, region: REGION, endpoint: server.url };
  const env = { GOOGLE_APPLICATION_CREDENTIALS: keyFile };
  return {
    server,
    clock,
    dir,
    keyFile,
    privateKey,
    env,
    settings,
    deps: (states, key) => fakeDeps({ workDir: dir, clock, environment: 'production' }, { states, settings: { gcp: settings }, ...(key ? { key } : {}) }),
    cleanup: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The service's traffic as it stands (LATEST pinned, sorted), or null when it does not exist. */
export function servingView(server: GcpServer, id = 'web'): unknown {
  const s = server.run.services.get(`${PROJECT}/${REGION}/${id}`);
  if (!s || s.deleted) return null;
  const view = server.run.view(s) as { traffic: never; latestReadyRevision?: string };
  return explicit(view.traffic, view.latestReadyRevision).sort((a, b) => String(a.revision).localeCompare(String(b.revision)));
}
