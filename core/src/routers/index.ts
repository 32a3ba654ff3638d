import type { TrafficRouter } from '../ports/traffic-router.js';
import type { ProviderModule } from '../registry/module.js';
import * as alb from './alb.js';
import * as appService from './app-service.js';
import * as cloudRun from './cloud-run.js';
import * as command from './command.js';
import * as containerApps from './container-apps.js';
import * as gatewayApi from './gateway-api.js';
import * as haproxy from './haproxy.js';
import * as istio from './istio.js';
import * as kubernetesService from './kubernetes-service.js';
import * as nginx from './nginx.js';
import * as sim from './sim.js';

/** Every traffic router by its `type`: the one list the schema and the docs read. */
export const routers = { sim, alb, 'app-service': appService, nginx, haproxy, command, 'kubernetes-service': kubernetesService, 'gateway-api': gatewayApi, istio, 'cloud-run': cloudRun, 'container-apps': containerApps } satisfies Record<string, ProviderModule<TrafficRouter>>;
export type RouterType = keyof typeof routers;
