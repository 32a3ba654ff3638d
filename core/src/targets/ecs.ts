import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Target } from '../ports/target.js';
import { ecsApi } from './ecs/api.js';
import { ecsCandidates } from './ecs/candidates.js';
import { ecsParts, stableService } from './ecs/service.js';

export const type = 'ecs';

/** A second service runs the candidate (canary, blue-green's green). */
export const capabilities = ['candidates'] as const;

const serviceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'expected an ECS service name (letters, digits, - and _, up to 255)');

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    cluster: z.string().min(1).default('default').describe('The ECS cluster, by name or ARN (default: `default`, as ECS names it)'),
    service: serviceName.describe('The ECS service whose task definition rollgate sets'),
    container: z.string().min(1).optional().describe("The container of the task definition whose image is set (default: the first one)"),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The image repository; a version becomes its tag (`123456789012.dkr.ecr.us-east-1.amazonaws.com/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the container's current repository. A version holding / or : is a whole image reference",
      ),
    manifest: z
      .string()
      .min(1)
      .optional()
      .describe('A YAML file (relative to the workflow) with `taskDefinition:` (register-task-definition input) and `service:` (create-service input), created on a first deploy when the service does not exist; a rollback of that deploy deletes the service'),
    candidateService: serviceName.optional().describe('Name of the service that runs a canary or the green copy (default: SERVICE-candidate)'),
    candidateTargetGroupArn: z
      .string()
      .regex(/^arn:aws[\w-]*:elasticloadbalancing:/, 'expected a target group ARN')
      .optional()
      .describe(
        "The target group the candidate service registers its tasks in, in place of the stable service's (the alb router's candidate group). Without it the candidate shares the stable service's target groups, and its share of traffic is its share of the tasks",
      ),
    interval: duration('How often the service is read while rollgate waits for a deployment').prefault('5s'),
    rolloutTimeout: duration("How long a deployment may take before rollgate gives up on it (the circuit breaker, when on, fails it sooner)").prefault('15m'),
  })
  .describe(
    "An Amazon ECS service: deploy registers a revision of its task definition with the version's image and waits for the deployment's rollout state (the circuit breaker's verdict); revert points the service back at the task definition it ran, and only over one rollgate set",
  );
export type EcsTargetConfig = z.output<typeof configSchema>;

export function create(config: EcsTargetConfig, deps: ProviderDeps): Target {
  const limits = { intervalMs: config.interval, timeoutMs: config.rolloutTimeout };
  const parts = ecsParts(ecsApi(deps, config.cluster), config, limits, deps);
  const stable = stableService(parts);
  return {
    type,
    current: (ctx) => stable.current(ctx),
    deploy: (version, ctx) => stable.deploy(version, ctx),
    health: (ctx) => stable.health(ctx),
    revert: (previous, ctx) => stable.revert(previous, ctx),
    candidates: ecsCandidates(parts, stable),
  };
}
