import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createVirtualClock } from '../clocks/virtual.js';
import { CloudError } from '../cloud/retrying.js';
import type { Logger } from '../ports/logger.js';
import { awsFault, AwsServer } from '../testing/aws/server.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { awsClient, awsSend, clientConfig, sdk } from './client.js';
import { settingsSchema } from './family.js';
import { awsError } from './problems.js';

/*
 * The AWS foundation through the real SDK v3 clients against the local double: both wire protocols,
 * the retries on the step's clock, and what each failure says.
 */
const PREFIX = 'AmazonEC2ContainerServiceV20141113';
const XMLNS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
let server: AwsServer;
let lines: string[];
beforeEach(async () => {
  server = await new AwsServer().start();
  server.json(PREFIX, 'DescribeServices', (p: { services: string[] }) => ({ services: p.services.map((s) => ({ serviceName: s, status: 'ACTIVE', desiredCount: 2 })), failures: [] }));
  server.query('DescribeTargetHealth', (p: { TargetGroupArn: string }) => ({ TargetHealthDescriptions: [{ Target: { Id: '10.0.0.1', Port: 80 }, TargetHealth: { State: 'healthy' } }], Arn: p.TargetGroupArn }), { xmlns: XMLNS });
  lines = [];
});
afterEach(() => server.stop());

const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), output() {} };
const clock = createVirtualClock();
const ctx = (env = server.env()) => fakeStepContext({ env, clock, log });
const deps = () => fakeDeps({ clock }, { settings: { aws: settingsSchema.parse({ endpoint: server.url }) } });
const ecs = () => awsClient(deps(), 'ecs', async () => ECSClient)(ctx());
const describe1 = () => new DescribeServicesCommand({ cluster: 'prod', services: ['web'] });
const send = async (command = describe1()) => awsSend(await ecs(), command, { service: 'ecs', what: 'read the service web', ctx: ctx() });

describe('the AWS client of a provider', () => {
  it('speaks JSON 1.1 (ECS) and Query (ELBv2) to the endpoint the settings name, signed with the keys of the environment', async () => {
    expect((await send()).services?.[0]).toMatchObject({ serviceName: 'web', desiredCount: 2 });
    const elb = await awsClient(deps(), 'elbv2', async () => ElasticLoadBalancingV2Client)(ctx());
    const health = await awsSend(elb, new DescribeTargetHealthCommand({ TargetGroupArn: 'arn:tg/blue' }), { service: 'alb', what: 'read target health', ctx: ctx() });
    expect(health.TargetHealthDescriptions?.[0]?.TargetHealth?.State).toBe('healthy');
    expect(server.calls.map((c) => c.operation)).toEqual(['DescribeServices', 'DescribeTargetHealth']);
  });

  it('retries a throttled call on the step clock, saying so, and succeeds', async () => {
    server.throttle(2);
    const start = clock.now();
    expect((await send()).services).toHaveLength(1);
    expect(server.callsOf('DescribeServices')).toHaveLength(3);
    expect(lines).toEqual([
      expect.stringMatching(/^ecs: read the service web: throttled, retrying in \d+ ms \(attempt 2 of 6\)$/),
      expect.stringMatching(/^ecs: read the service web: throttled, retrying in [\d.]+s? ?(ms)? ?\(attempt 3 of 6\)$/),
    ]);
    expect(clock.now()).toBeGreaterThan(start);
  });

  it('gives up after six throttled calls with a retryable error', async () => {
    server.throttle(10);
    const err = (await rejection(send())) as CloudError;
    expect(err.message).toBe('ecs: cannot read the service web: throttled (ThrottlingException): Rate exceeded');
    expect(err.retryable).toBe(true);
    expect(server.callsOf('DescribeServices')).toHaveLength(6);
  });

  it('says credentials expired mid-run are to be renewed, never retried, and never shows the secret', async () => {
    await send();
    server.expireCredentials();
    const err = (await rejection(send())) as CloudError;
    expect(err.message).toBe(
      'ecs: cannot read the service web: the credentials were refused (ExpiredTokenException): they may have expired; renew them (the OIDC role session, the CI secret) and run `rollgate resume`',
    );
    expect(err.retryable).toBe(false);
    expect(JSON.stringify(server.calls)).not.toContain('rollgate-test-secret-not-shown');
  });

  it('says which permission is missing, in AWS words', async () => {
    server.fail('DescribeServices', awsFault('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: ecs:DescribeServices'));
    expect(((await rejection(send())) as Error).message).toBe(
      'ecs: cannot read the service web: access denied (AccessDeniedException): User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: ecs:DescribeServices; grant the action to the role rollgate runs as',
    );
  });

  it('retries a server failure, and names other refusals with their code', async () => {
    server.fail('DescribeServices', awsFault('ServerException', 'internal', 500), 1);
    expect((await send()).services).toHaveLength(1);
    server.fail('DescribeServices', awsFault('ClusterNotFoundException', 'Cluster not found.'));
    expect(((await rejection(send())) as Error).message).toBe('ecs: cannot read the service web: ClusterNotFoundException: Cluster not found.');
  });

  it('refuses keys it does not know, as AWS does', async () => {
    const err = (await rejection(awsSend(await awsClient(deps(), 'ecs', async () => ECSClient)(ctx({ ...server.env(), AWS_ACCESS_KEY_ID: 'AKIDOTHER' })), describe1(), { service: 'ecs', what: 'read the service web', ctx: ctx() }))) as Error;
    expect(err.message).toMatch(/^ecs: cannot read the service web: the credentials were refused \(UnrecognizedClientException\)/);
  });

  it('says an endpoint that does not answer is unreachable, and retries it', async () => {
    await server.stop();
    const err = (await rejection(send())) as CloudError;
    expect(err.message).toMatch(/^ecs: cannot read the service web: the endpoint is unreachable \(connection refused \(nothing listens there\)\)$/);
    expect(err.retryable).toBe(true);
    // One more call, not six: the step's own retries come on top.
    expect(lines).toEqual([expect.stringMatching(/^ecs: read the service web: the endpoint is unreachable \(connection refused \(nothing listens there\)\), retrying in \d+ ms \(attempt 2 of 2\)$/)]);
  });
});

describe('client configuration', () => {
  const env = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' };
  it('takes the region and endpoints from the settings first, then the standard variables', async () => {
    expect(await clientConfig(settingsSchema.parse({ region: 'eu-west-1', endpoint: 'http://one:1', endpoints: { ecs: 'http://ecs:2' } }), 'ecs', env)).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://ecs:2',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' },
      maxAttempts: 1,
    });
    const fromEnv = await clientConfig(undefined, 'rds', { ...env, AWS_DEFAULT_REGION: 'us-west-2', AWS_ENDPOINT_URL_RDS: 'http://rds:3' });
    expect(fromEnv).toMatchObject({ region: 'us-west-2', endpoint: 'http://rds:3' });
    expect(await clientConfig(undefined, 'elbv2', { ...env, AWS_REGION: 'ap-south-1' })).not.toHaveProperty('endpoint');
  });

  it('uses the web identity token file and role when no keys are set (GitHub OIDC, EKS)', async () => {
    const config = await clientConfig(settingsSchema.parse({ region: 'us-east-1' }), 'ecs', { AWS_WEB_IDENTITY_TOKEN_FILE: '/tmp/none', AWS_ROLE_ARN: 'arn:aws:iam::1:role/ci' });
    expect(typeof config.credentials).toBe('function');
  });

  it('says where to set a region when there is none', async () => {
    expect(((await rejection(clientConfig(undefined, 'ecs', env))) as Error).message).toBe('ecs: no AWS region: set `aws.region` in the workflow, or AWS_REGION in the environment');
  });

  it('says how to provide credentials when the default chain finds none', () => {
    const err = awsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'ecs', 'read the service web');
    expect(err.message).toBe(
      'ecs: cannot read the service web: no AWS credentials could be loaded (Could not load credentials from any providers); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (GitHub OIDC), or a profile',
    );
    expect(err.nothingChanged).toBe(true);
  });
});

describe('what a refusal means', () => {
  it('does not retry a hard limit as if it were throttling', () => {
    const err = awsError(Object.assign(new Error('Too many services in cluster prod'), { name: 'LimitExceededException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), 'ecs', 'create the service web-candidate');
    expect(err.message).toBe('ecs: cannot create the service web-candidate: LimitExceededException: Too many services in cluster prod');
    expect(err.retryable).toBe(false);
  });
});

describe('the SDK package as a bundle offers it', () => {
  it('gives the names whether Node (named exports) or a bundle (all under default) loaded the package', async () => {
    const names = { ECSClient: class {} };
    expect(await sdk(Promise.resolve(names))).toBe(names);
    expect(await sdk(Promise.resolve({ default: names }))).toBe(names);
    const both = { ...names, default: names };
    expect(await sdk(Promise.resolve(both))).toBe(both);
  });
});
