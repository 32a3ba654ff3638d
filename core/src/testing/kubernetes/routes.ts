import type { KubeObject } from './cluster.js';

/*
 * Route objects as a user keeps them, for the gateway-api and istio router tests: all in
 * namespace `default`, named `web` unless told.
 */

/** A Service of port 80 selecting `app: NAME` pods. */
export function service(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ port: 80 }] } };
}

/** An HTTPRoute attached to the Gateway infra/public, for host web.example.com. */
export function httpRoute(rules: unknown[], name = 'web'): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'default' },
    spec: { parentRefs: [{ name: 'public', namespace: 'infra' }], hostnames: ['web.example.com'], rules },
  };
}

/** A VirtualService of host web.example.com through the Gateway istio-system/public. */
export function virtualService(http: unknown[], name = 'web'): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: { hosts: ['web.example.com'], gateways: ['istio-system/public'], http },
  };
}
