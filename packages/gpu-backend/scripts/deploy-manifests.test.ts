/**
 * Keeps the Kubernetes manifests (deploy/k8s) and the container (Dockerfile) in step with the server they
 * run: every file parses, selectors and ports line up, the environment is one the server accepts, and the
 * autoscaler's metric is one the server exports.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import { BackendMetrics } from '../src/metrics/metrics.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const K8S = join(REPO, 'deploy/k8s');

function documents(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(join(K8S, file), 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return docs.map((d) => d.toJS() as unknown);
}

/** The first item of a list a manifest must not leave empty. */
function first<T>(list: readonly T[], what: string): T {
  const item = list[0];
  if (item === undefined) throw new Error(`no ${what} in the manifest`);
  return item;
}

const Labels = z.record(z.string(), z.string());
const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.object({ secretKeyRef: z.object({ name: z.string(), key: z.string() }) }).optional(),
});
const DeploymentSchema = z.object({
  kind: z.literal('Deployment'),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    selector: z.object({ matchLabels: Labels }),
    template: z.object({
      metadata: z.object({ labels: Labels, annotations: Labels }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number(),
        containers: z.array(
          z.object({
            image: z.string(),
            ports: z.array(z.object({ name: z.string(), containerPort: z.number() })),
            env: z.array(EnvVar),
            resources: z.object({ limits: z.record(z.string(), z.union([z.string(), z.number()])) }),
            startupProbe: Probe,
            livenessProbe: Probe,
            readinessProbe: Probe,
            lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }) }),
          }),
        ),
      }),
    }),
  }),
});
const ServiceSchema = z.object({
  kind: z.literal('Service'),
  spec: z.object({ selector: Labels, ports: z.array(z.object({ port: z.number(), targetPort: z.union([z.string(), z.number()]) })) }),
});
const HpaSchema = z.object({
  kind: z.literal('HorizontalPodAutoscaler'),
  spec: z.object({
    scaleTargetRef: z.object({ kind: z.literal('Deployment'), name: z.string() }),
    minReplicas: z.number(),
    maxReplicas: z.number(),
    metrics: z.array(z.object({ type: z.literal('Pods'), pods: z.object({ metric: z.object({ name: z.string() }) }) })),
  }),
});
const PdbSchema = z.object({ kind: z.literal('PodDisruptionBudget'), spec: z.object({ selector: z.object({ matchLabels: Labels }) }) });
const AdapterSchema = z.object({
  rules: z.object({ custom: z.array(z.object({ seriesQuery: z.string(), name: z.object({ as: z.string() }) })) }),
});
const KustomizationSchema = z.object({ resources: z.array(z.string()) });

const one = <T>(schema: z.ZodType<T>, file: string): T => {
  const docs = documents(file);
  expect(docs).toHaveLength(1);
  return schema.parse(docs[0]);
};
const deployment = () => one(DeploymentSchema, 'deployment.yaml');
const container = () => first(deployment().spec.template.spec.containers, 'container');
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/k8s', () => {
  it('every manifest parses as YAML and every kustomization resource exists', () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) expect(documents(file).length).toBeGreaterThan(0);
    for (const resource of one(KustomizationSchema, 'kustomization.yaml').resources) {
      expect(existsSync(join(K8S, resource)), resource).toBe(true);
    }
  });

  it('Service, PodDisruptionBudget and Deployment selectors all select the pods', () => {
    const d = deployment();
    const podLabels = d.spec.template.metadata.labels;
    expect(matches(d.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(matches(one(ServiceSchema, 'service.yaml').spec.selector, podLabels)).toBe(true);
    expect(matches(one(PdbSchema, 'pdb.yaml').spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('the Service targets the named container port the server listens on', () => {
    const c = container();
    const port = first(one(ServiceSchema, 'service.yaml').spec.ports, 'service port');
    const target = c.ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
    expect(target?.containerPort).toBe(Number(c.env.find((e) => e.name === 'PORT')?.value));
    expect(deployment().spec.template.metadata.annotations['prometheus.io/port']).toBe(String(target?.containerPort));
  });

  it('probes use /readyz for readiness and /healthz for liveness, and the grace period outlasts preStop', () => {
    const c = container();
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.startupProbe.httpGet.path).toBe('/healthz');
    const [cmd, seconds] = c.lifecycle.preStop.exec.command;
    expect(cmd).toBe('sleep');
    expect(deployment().spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + 30);
  });

  it('each pod gets one GPU and its token from a Secret', () => {
    const c = container();
    expect(Number(c.resources.limits['nvidia.com/gpu'])).toBe(1);
    const token = c.env.find((e) => e.name === 'BACKEND_TOKEN');
    expect(token?.value).toBeUndefined();
    expect(token?.valueFrom?.secretKeyRef.key).toBe('backend-token');
  });

  it("the Deployment's environment is a configuration the server accepts", () => {
    const env: Record<string, string> = {};
    for (const e of container().env) env[e.name] = e.value ?? 'a-secret-from-the-cluster-0123456789';
    const config = loadConfig(env);
    expect(config.host).toBe('0.0.0.0');
    expect(config.device).toBe('cuda');
    expect(config.token).toBeDefined();
  });

  it('the autoscaler scales the Deployment on a metric the server exports, through the adapter rule', () => {
    const hpa = one(HpaSchema, 'hpa.yaml');
    expect(hpa.spec.scaleTargetRef.name).toBe(deployment().metadata.name);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const metric = first(hpa.spec.metrics, 'autoscaler metric').pods.metric.name;
    const rule = one(AdapterSchema, 'prometheus-adapter-values.yaml').rules.custom.find((r) => r.name.as === metric);
    if (rule === undefined) throw new Error(`no adapter rule exposes ${metric}`);
    const series = /^([a-z_:][a-z0-9_:]*)\{/.exec(rule.seriesQuery)?.[1];
    expect(series).toBeDefined();
    const metrics = new BackendMetrics({ maxBatchSize: 8 });
    metrics.trackQueue('vit', () => 3);
    expect(metrics.render()).toMatch(new RegExp(`^${series}\\{tower="vit"\\} 3$`, 'm'));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');

  it('exposes and health-checks the port the Deployment uses, as a non-root user', () => {
    const port = first(container().ports, 'container port').containerPort;
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`PORT=${port}\\b`));
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
  });

  it('builds the native JPEG decoder, fails without it, and puts libjpeg.so.62 beside it', () => {
    expect(dockerfile).toMatch(/build:native --check/);
    expect(dockerfile).toMatch(/cp -L \S*libjpeg\.so\.62 packages\/gpu-backend\/native\/jpeg\/build\/libjpeg\.so\.62/);
    const ignore = readFileSync(fileURLToPath(new URL('../Dockerfile.dockerignore', import.meta.url)), 'utf8');
    // A build made on the host must not enter the image in place of the one compiled there.
    expect(ignore).toMatch(/^packages\/gpu-backend\/native\/jpeg\/build\/$/m);
  });

  it('copies only files that its ignore list lets into the build context', () => {
    const ignore = readFileSync(fileURLToPath(new URL('../Dockerfile.dockerignore', import.meta.url)), 'utf8');
    const allowed = ignore
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(' '));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(allowed.some((a) => source === a || source.startsWith(`${a}/`)), source).toBe(true);
    }
  });
});
