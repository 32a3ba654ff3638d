import { describe, expect, it } from 'vitest';
import { podRequests } from './pod-requests.js';
import { cpuMillis, memoryBytes, quantity } from './quantity.js';

describe('Kubernetes quantities', () => {
  it.each([
    ['250m', 250],
    ['0.5', 500],
    ['2', 2000],
    ['1e3m', 1000],
    [1.5, 1500],
    [undefined, 0],
  ])('CPU %s is %s millicores', (text, millis) => {
    expect(cpuMillis(text)).toBe(millis);
  });

  it.each([
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['500M', 5e8],
    ['1024Ki', 2 ** 20],
    ['1048576', 2 ** 20],
    ['1e6', 1e6],
  ])('memory %s is %s bytes', (text, bytes) => {
    expect(memoryBytes(text)).toBe(bytes);
  });

  it('is undefined for text that is not a quantity', () => {
    expect(quantity('lots')).toBeUndefined();
    expect(quantity('12 Mi')).toBeUndefined();
    expect(memoryBytes('lots')).toBe(0);
  });
});

describe('the requests a pod takes from its node', () => {
  const c = (cpu: string, memory: string, restartPolicy?: string) => ({ resources: { requests: { cpu, memory } }, ...(restartPolicy ? { restartPolicy } : {}) });

  it('sums the app containers', () => {
    expect(podRequests({ containers: [c('250m', '128Mi'), c('100m', '64Mi')] })).toEqual({ cpuMillis: 350, memoryBytes: 192 * 2 ** 20 });
  });

  it('takes the larger of the app containers and the largest init container', () => {
    expect(podRequests({ containers: [c('250m', '128Mi')], initContainers: [c('1', '64Mi')] })).toEqual({ cpuMillis: 1000, memoryBytes: 128 * 2 ** 20 });
  });

  it('counts sidecars (init containers that keep running) with the app, and beside later init containers', () => {
    const spec = { containers: [c('250m', '128Mi')], initContainers: [c('100m', '32Mi', 'Always'), c('500m', '16Mi')] };
    // Running: 250m + 100m; the second init container runs beside the sidecar: 100m + 500m.
    expect(podRequests(spec)).toEqual({ cpuMillis: 600, memoryBytes: 160 * 2 ** 20 });
  });

  it('adds the pod overhead, and pod-level resources replace the containers’', () => {
    expect(podRequests({ containers: [c('250m', '128Mi')], overhead: { cpu: '50m', memory: '16Mi' } })).toEqual({ cpuMillis: 300, memoryBytes: 144 * 2 ** 20 });
    expect(podRequests({ containers: [c('250m', '128Mi')], resources: { requests: { cpu: '1', memory: '1Gi' } } })).toEqual({ cpuMillis: 1000, memoryBytes: 2 ** 30 });
  });

  it('is nothing for a pod that asks for nothing', () => {
    expect(podRequests({})).toEqual({ cpuMillis: 0, memoryBytes: 0 });
  });
});
