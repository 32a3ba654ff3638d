import { EcsFault, type LoadBalancer } from './types.js';

/* CreateService's checks of its load balancers, and the settings the double keeps without acting on them. */

/**
 * As ECS refuses them: a target group no listener rule or default action forwards to (ECS reads
 * the load balancer from it), and one without the container and port its targets are.
 */
export function checkLoadBalancers(input: unknown, loadBalanced: ((targetGroupArn: string) => boolean) | undefined): void {
  for (const lb of Array.isArray(input) ? (input as LoadBalancer[]) : []) {
    if (lb.targetGroupArn !== undefined && loadBalanced && !loadBalanced(lb.targetGroupArn)) {
      throw new EcsFault('InvalidParameterException', `The target group with targetGroupArn ${lb.targetGroupArn} does not have an associated load balancer.`);
    }
    if (lb.targetGroupArn !== undefined && (lb.containerName === undefined || lb.containerPort === undefined)) {
      throw new EcsFault('InvalidParameterException', 'The container name and container port must be specified for a load balancer target group.');
    }
  }
}

/** The fields of `input` named, copied. */
export function pick(input: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => input[f] !== undefined).map((f) => [f, structuredClone(input[f])]));
}
