import { awsFault, type AwsServer } from './server.js';

/*
 * The Service Quotas API double: GetServiceQuota and GetAWSDefaultServiceQuota on AWS JSON 1.1 (target ServiceQuotasV20190624),
 * over quotas a test defines (their applied value, unit, and the CloudWatch usage metric AWS
 * publishes for many of them). A service or quota code it does not hold answers the documented
 * NoSuchResourceException; a code that is not a quota code (L-XXXXXXXX) IllegalArgumentException.
 * Not covered: GetAWSDefaultServiceQuota, listing, requesting increases, resource-level ContextId.
 */

export const SERVICE_QUOTAS_PREFIX = 'ServiceQuotasV20190624';
const ACCOUNT = '123456789012';

export interface QuotaSpec {
  serviceCode: string;
  quotaCode: string;
  name: string;
  value: number;
  unit?: string;
  adjustable?: boolean;
  /**
   * Only AWS's default value is known (no applied value in this account): GetServiceQuota answers
   * NoSuchResourceException and GetAWSDefaultServiceQuota the value, as AWS does for such quotas.
   */
  defaultOnly?: boolean;
  /** The usage metric AWS names for the quota (usually in AWS/Usage). */
  usage?: { namespace: string; metric: string; dimensions: Record<string, string>; stat: string };
}

export class ServiceQuotasModel {
  private readonly quotas = new Map<string, QuotaSpec>();

  constructor(readonly region = 'us-east-1') {}

  quota(spec: QuotaSpec): void {
    this.quotas.set(`${spec.serviceCode}/${spec.quotaCode}`, spec);
  }

  /** Changes the applied value (an increase was granted). */
  setValue(serviceCode: string, quotaCode: string, value: number): void {
    const q = this.quotas.get(`${serviceCode}/${quotaCode}`);
    if (!q) throw new Error(`no quota ${serviceCode}/${quotaCode} in the double`);
    q.value = value;
  }

  getServiceQuota(p: { ServiceCode?: string; QuotaCode?: string }, defaults = false): unknown {
    if (!/^L-[0-9A-F]{8}$/.test(p.QuotaCode ?? '')) throw awsFault('IllegalArgumentException', `Invalid quota code: ${p.QuotaCode ?? ''}`);
    const q = this.quotas.get(`${p.ServiceCode ?? ''}/${p.QuotaCode ?? ''}`);
    if (!q || (q.defaultOnly && !defaults)) throw awsFault('NoSuchResourceException', 'The request failed because the specified resource does not exist.');
    return {
      Quota: {
        ServiceCode: q.serviceCode,
        ServiceName: q.serviceCode,
        QuotaArn: `arn:aws:servicequotas:${this.region}:${ACCOUNT}:${q.serviceCode}/${q.quotaCode}`,
        QuotaCode: q.quotaCode,
        QuotaName: q.name,
        Value: q.value,
        Unit: q.unit ?? 'None',
        Adjustable: q.adjustable ?? true,
        GlobalQuota: false,
        ...(q.usage
          ? {
              UsageMetric: {
                MetricNamespace: q.usage.namespace,
                MetricName: q.usage.metric,
                MetricDimensions: q.usage.dimensions,
                MetricStatisticRecommendation: q.usage.stat,
              },
            }
          : {}),
      },
    };
  }
}

/** Registers GetServiceQuota on `server` over a new model. */
export function serviceQuotasDouble(server: AwsServer, region = 'us-east-1'): ServiceQuotasModel {
  const model = new ServiceQuotasModel(region);
  server.json(SERVICE_QUOTAS_PREFIX, 'GetServiceQuota', (p) => model.getServiceQuota(p));
  server.json(SERVICE_QUOTAS_PREFIX, 'GetAWSDefaultServiceQuota', (p) => model.getServiceQuota(p, true));
  return model;
}
