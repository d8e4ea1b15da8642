/**
 * The deployment files (Dockerfile, deploy/compose.yaml, deploy/kubernetes/) checked against the code, since no Docker
 * daemon or Kubernetes runs here: every variable they set is one the config reads (and the process it is set on
 * reads it), every port, path and probe matches the config's values and the api's routes, the images and commands
 * are the build's (`pnpm build`, `pnpm --filter <app> deploy --prod`, `node dist/main.js`, `node dist/cli.js migrate`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseClickHouseUrl } from './clickhouse/connect.ts';
import { loadApiConfig, loadSidecarConfig } from './config.ts';
import { API, SIDECAR } from './config-slices.ts';
import { VARIABLES } from './config-variables.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** Standard variables a process honours without config.ts listing them. */
const STANDARD = /^(OTEL_[A-Z_]+)$/;

type Env = Record<string, string>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  restartPolicy?: string;
  env?: { name: string; value: string }[];
  envFrom?: ({ configMapRef?: { name: string } } & { secretRef?: { name: string } })[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; emptyDir?: object }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below
type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };

// ---- the files, parsed ----------------------------------------------------------------------------------------------

interface DockerStage {
  name: string;
  from: string;
  /** Instructions in order, continuation lines joined. */
  lines: { op: string; args: string }[];
}

function dockerStages(text: string): DockerStage[] {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of joined) {
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)\s+AS\s+(\S+)$/i.exec(args);
      if (!m) throw new Error(`FROM without a stage name: ${line}`);
      stages.push({ from: m[1] as string, name: m[2] as string, lines: [] });
    } else if (stages.length) {
      stages.at(-1)?.lines.push({ op, args });
    }
  }
  return stages;
}

const dockerfile = read('Dockerfile');
const stages = dockerStages(dockerfile);
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
/** ENV of a stage and the stages it is built FROM, `KEY=value` pairs. */
function stageEnv(name: string): Env {
  const s = stage(name);
  const inherited = stages.some((other) => other.name === s.from) ? stageEnv(s.from) : {};
  const own = s.lines
    .filter((l) => l.op === 'ENV')
    .flatMap((l) => [...l.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1], m[2]]));
  return { ...inherited, ...Object.fromEntries(own) };
}
const argsOf = (name: string, op: string) =>
  stage(name)
    .lines.filter((l) => l.op === op)
    .map((l) => l.args);

const compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<
    string,
    {
      image: string;
      build?: { context: string; target: string };
      command?: string[];
      environment?: Env;
      ports?: string[];
      volumes?: string[];
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: { test: string[] };
      deploy?: { replicas: number };
    }
  >;
  volumes: Record<string, unknown>;
};
const ourServices = Object.entries(compose.services).filter(([, s]) => s.image.startsWith('runtrace-'));

const k8sDir = 'deploy/kubernetes';
const k8sFiles = readdirSync(path.join(root, k8sDir)).filter((f) => f.endsWith('.yaml'));
const manifests: Manifest[] = k8sFiles
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(read(`${k8sDir}/${f}`)).map((d) => d.toJS() as Manifest));
const manifest = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${k8sDir}`);
  return found;
};
const deployment = manifest('Deployment', 'runtrace-api');
const pod = deployment.spec.template.spec as PodSpec;
const job = manifest('Job', 'runtrace-migrate');
const configMap = manifest('ConfigMap', 'runtrace-config');
const secret = manifest('Secret', 'runtrace-secrets');
const apiContainer = pod.containers.find((c) => c.name === 'api') as Container;
const sidecarContainer = pod.initContainers?.find((c) => c.name === 'sidecar') as Container;

/** A container's environment as the kubelet builds it: envFrom's ConfigMaps and Secrets, then env. */
function k8sEnv(container: Container): Env {
  const env: Env = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, manifest('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, manifest('Secret', from.secretRef.name).stringData);
  }
  for (const { name, value } of container.env ?? []) env[name] = value;
  return env;
}
/** What the process sees: the image's ENV under the orchestrator's. */
const apiImageEnv = stageEnv('api');
const sidecarImageEnv = stageEnv('sidecar');
const processEnv = {
  k8sApi: { ...apiImageEnv, ...k8sEnv(apiContainer) },
  k8sSidecar: { ...sidecarImageEnv, ...k8sEnv(sidecarContainer) },
  k8sMigrate: { ...apiImageEnv, ...k8sEnv(job.spec.template.spec.containers[0]) },
  composeApi: { ...apiImageEnv, ...compose.services.api?.environment },
  composeSidecar: { ...sidecarImageEnv, ...compose.services.sidecar?.environment },
  composeMigrate: { ...apiImageEnv, ...compose.services.migrate?.environment },
};
const healthUrl = (command: string[] | string) => /fetch\('http:\/\/127\.0\.0\.1:(\d+)(\/\w+)'/.exec(String(command));
/** An image's HEALTHCHECK: the port from a variable, its fallback when unset, the path. */
const imageHealth = (target: string) => {
  const m = /fetch\('http:\/\/127\.0\.0\.1:' \+ \(process\.env\.(\w+) \|\| (\d+)\) \+ '(\/\w+)'\)/.exec(
    argsOf(target, 'HEALTHCHECK').join(' '),
  );
  return { variable: m?.[1], fallback: Number(m?.[2]), path: m?.[3] };
};

// ---- the checks -----------------------------------------------------------------------------------------------------

describe('deployment files: variables', () => {
  it('set only variables the config reads (or standard ones), each on a process that reads it', () => {
    const known = (name: string) => name in VARIABLES || STANDARD.test(name);
    const everywhere = [
      ...Object.keys(stageEnv('api')),
      ...Object.keys(stageEnv('sidecar')),
      ...ourServices.flatMap(([, s]) => Object.keys(s.environment ?? {})),
      ...Object.keys(configMap.data),
      ...Object.keys(secret.stringData),
      ...[...(pod.initContainers ?? []), ...pod.containers].flatMap((c) => (c.env ?? []).map((e) => e.name)),
    ];
    expect(everywhere.filter((name) => !known(name))).toEqual([]);
    // The images set NODE_ENV for both (a standard variable libraries read); otherwise each reads its own.
    const reads = (slice: { variables: readonly string[] }, env: Env) =>
      Object.keys(env).filter((n) => n !== 'NODE_ENV' && !slice.variables.includes(n));
    for (const env of [processEnv.k8sApi, processEnv.composeApi, processEnv.k8sMigrate, processEnv.composeMigrate]) {
      expect(reads(API, env)).toEqual([]);
    }
    for (const env of [processEnv.k8sSidecar, processEnv.composeSidecar]) expect(reads(SIDECAR, env)).toEqual([]);
  });

  it('parse with the real config loaders into production settings on the container address', () => {
    for (const env of [processEnv.k8sApi, processEnv.composeApi, processEnv.k8sMigrate, processEnv.composeMigrate]) {
      const config = loadApiConfig(env);
      expect(config.nodeEnv).toBe('production');
      expect(config.host).toBe('0.0.0.0');
      expect(config.databaseUrl).toMatch(/^postgres:\/\//);
      expect(config.redisUrl).toMatch(/^redis:\/\//);
      expect(parseClickHouseUrl(config.clickhouseUrl, { dataDir: '/tmp' }).kind).toBe('server');
    }
    expect(loadApiConfig(apiImageEnv).nodeEnv).toBe('production');
    for (const env of [processEnv.k8sSidecar, processEnv.composeSidecar]) expect(loadSidecarConfig(env)).toBeTruthy();
  });

  it('turn migrations off on the replicas, which leave them to the one-shot', () => {
    expect(apiContainer.env).toContainEqual({ name: 'RUNTRACE_MIGRATE', value: 'off' });
    expect(compose.services.api?.environment?.RUNTRACE_MIGRATE).toBe('off');
    expect(processEnv.k8sMigrate.RUNTRACE_MIGRATE).toBeUndefined();
    expect(processEnv.composeMigrate.RUNTRACE_MIGRATE).toBeUndefined();
  });
});

describe('deployment files: ports, paths and probes', () => {
  const server = read('apps/api/src/server.ts');

  it('probe /healthz (liveness) and /readyz (readiness), routes the api serves, on its port', () => {
    expect(server).toContain("app.get('/healthz'");
    expect(server).toContain("app.get('/readyz'");
    expect(apiContainer.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(apiContainer.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(apiContainer.startupProbe?.httpGet?.path).toBe('/healthz');
    const port = loadApiConfig(processEnv.k8sApi).port;
    expect(apiContainer.ports).toContainEqual({ name: 'http', containerPort: port });
    expect(imageHealth('api')).toEqual({ variable: 'PORT', fallback: loadApiConfig({}).port, path: '/healthz' });
    const imageConfig = loadApiConfig(apiImageEnv);
    expect(argsOf('api', 'EXPOSE')).toEqual([`${imageConfig.port} ${imageConfig.otlpGrpcPort}`]);
    const composeProbe = healthUrl(compose.services.api?.healthcheck?.test ?? []);
    expect([Number(composeProbe?.[1]), composeProbe?.[2]]).toEqual([
      loadApiConfig(processEnv.composeApi).port,
      '/healthz',
    ]);
  });

  it('publish the api port for each compose replica and the metrics port Prometheus scrapes', () => {
    const api = compose.services.api;
    const port = loadApiConfig(processEnv.composeApi).port;
    const [range, container] = (api?.ports?.[0] ?? '').split(':');
    const [from, to = from] = (range ?? '').split('-').map(Number);
    expect(Number(container)).toBe(port);
    expect((to as number) - (from as number) + 1).toBe(api?.deploy?.replicas);
    expect(api?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    const metricsPort = loadApiConfig(processEnv.k8sApi).metricsPort;
    expect(metricsPort).toBeDefined();
    expect(apiContainer.ports).toContainEqual({ name: 'metrics', containerPort: metricsPort });
    expect(loadApiConfig(processEnv.k8sApi).metricsHost).toBe('0.0.0.0');
    // OTLP/gRPC: the receiver's port in the pod, behind the service, and per compose replica.
    const grpcPort = loadApiConfig(processEnv.k8sApi).otlpGrpcPort;
    expect(typeof grpcPort).toBe('number');
    expect(apiContainer.ports).toContainEqual({ name: 'otlp-grpc', containerPort: grpcPort });
    const service = manifest('Service', 'runtrace-api').spec as { ports: unknown[] };
    expect(service.ports).toContainEqual({ name: 'otlp-grpc', port: grpcPort, targetPort: 'otlp-grpc' });
    const [grpcRange, grpcContainer] = (api?.ports?.[1] ?? '').split(':');
    const [grpcFrom, grpcTo = grpcFrom] = (grpcRange ?? '').split('-').map(Number);
    expect(Number(grpcContainer)).toBe(loadApiConfig(processEnv.composeApi).otlpGrpcPort);
    expect((grpcTo as number) - (grpcFrom as number) + 1).toBe(api?.deploy?.replicas);
    // Containers of a pod share one loopback: the sidecar's /metrics must not take the api's ports.
    const sidecarMetrics = loadSidecarConfig(processEnv.k8sSidecar).sidecarMetricsPort;
    expect([port, metricsPort, grpcPort]).not.toContain(sidecarMetrics);
  });

  it("share the sidecar's socket: the api writes where the sidecar listens, on a volume both mount", () => {
    const socketDir = (env: Env, mounts: string[]) => {
      const dir = path.posix.dirname(loadSidecarConfig(env).telemetrySocket);
      expect(mounts).toContain(dir);
      return dir;
    };
    const mountsOf = (c: Container, volume: string) =>
      (c.volumeMounts ?? []).filter((m) => m.name === volume).map((m) => m.mountPath);
    expect(loadApiConfig(processEnv.k8sApi).telemetrySocket).toBe(
      loadSidecarConfig(processEnv.k8sSidecar).telemetrySocket,
    );
    socketDir(processEnv.k8sSidecar, mountsOf(sidecarContainer, 'telemetry'));
    socketDir(processEnv.k8sApi, mountsOf(apiContainer, 'telemetry'));
    expect(pod.volumes).toContainEqual({ name: 'telemetry', emptyDir: {} });
    const composeMounts = (service: string) =>
      (compose.services[service]?.volumes ?? []).filter((v) => v.startsWith('telemetry:')).map((v) => v.split(':')[1]);
    expect(loadApiConfig(processEnv.composeApi).telemetrySocket).toBe(
      loadSidecarConfig(processEnv.composeSidecar).telemetrySocket,
    );
    socketDir(processEnv.composeSidecar, composeMounts('sidecar') as string[]);
    socketDir(processEnv.composeApi, composeMounts('api') as string[]);
    expect(loadApiConfig(processEnv.composeApi).telemetryBackends).toContain('socket');
    // the image makes the default socket's directory and the data directory, writable by its user
    const made = argsOf('runtime', 'RUN').join(' ');
    expect(made).toContain(path.posix.dirname(loadSidecarConfig({}).telemetrySocket));
    expect(made).toContain(stageEnv('runtime').RUNTRACE_DATA_DIR);
  });

  it('probe the sidecar where it listens: its socket, and /metrics on its port', () => {
    const config = loadSidecarConfig(processEnv.k8sSidecar);
    expect(sidecarContainer.startupProbe?.exec?.command).toEqual(['test', '-S', config.telemetrySocket]);
    expect(Number(healthUrl(sidecarContainer.livenessProbe?.exec?.command ?? [])?.[1])).toBe(config.sidecarMetricsPort);
    const composeProbe = healthUrl(compose.services.sidecar?.healthcheck?.test ?? []);
    expect(Number(composeProbe?.[1])).toBe(loadSidecarConfig(processEnv.composeSidecar).sidecarMetricsPort);
    expect(imageHealth('sidecar')).toEqual({
      variable: 'RUNTRACE_SIDECAR_METRICS_PORT',
      fallback: loadSidecarConfig({}).sidecarMetricsPort,
      path: '/metrics',
    });
  });
});

describe('deployment files: images and commands follow the build', () => {
  it('build with the pinned pnpm, a frozen lockfile, pnpm build and one deploy folder per app', () => {
    const packageManager = JSON.parse(read('package.json')).packageManager as string;
    const runs = argsOf('build', 'RUN');
    expect(runs).toContain(`npm install --global ${packageManager}`);
    expect(runs.some((r) => /^pnpm install --frozen-lockfile\b/.test(r))).toBe(true);
    expect(runs).toContain('pnpm build');
    const deploys = runs.join(' && ').match(/pnpm --filter (@runtrace\/\w+) deploy --prod (\S+)/g) ?? [];
    expect(deploys).toEqual([
      'pnpm --filter @runtrace/api deploy --prod /out/api',
      'pnpm --filter @runtrace/sidecar deploy --prod /out/sidecar',
    ]);
    for (const [app, target] of [
      ['api', 'api'],
      ['sidecar', 'sidecar'],
    ] as const) {
      const manifest = JSON.parse(read(`apps/${app}/package.json`));
      expect(manifest.name).toBe(`@runtrace/${app}`);
      expect(argsOf(target, 'COPY')).toEqual([`--from=build /out/${app} ./`]);
      expect(argsOf(target, 'WORKDIR')).toEqual([`/app/${app}`]);
      // The image starts what the package's start script starts (node flags included), in the deploy folder:
      // dist/main.js is compiled from src/main.ts.
      const start = (manifest.scripts.start as string).replace(/^exec /, '').split(' ');
      expect(start.at(-1)).toBe('dist/main.js');
      expect(argsOf(target, 'CMD')).toEqual([`[${start.map((a) => JSON.stringify(a)).join(', ')}]`]);
      expect(existsSync(path.join(root, `apps/${app}/src/main.ts`))).toBe(true);
    }
    expect(existsSync(path.join(root, 'apps/api/src/cli.ts'))).toBe(true);
  });

  it('copy only what exists and .dockerignore lets through, run as a non-root user on Debian-based Node 20', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const isIgnored = (file: string) =>
      ignored.some((p) => p === file || p === `**/${file}` || file.startsWith(`${p.replace(/^\*\*\//, '')}/`));
    for (const args of argsOf('build', 'COPY')) {
      const sources = args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        if (source === '.') continue;
        expect(existsSync(path.join(root, source)), source).toBe(true);
        expect(isIgnored(source), source).toBe(false);
      }
    }
    for (const needed of ['packages', 'apps', 'pnpm-lock.yaml', 'turbo.json', 'tsconfig.base.json']) {
      expect(isIgnored(needed), needed).toBe(false);
    }
    expect(isIgnored('node_modules')).toBe(true);
    expect(argsOf('runtime', 'USER')).toEqual(['node']);
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(base).toMatch(/^node:20[\w.-]*-(bookworm|bullseye)-slim$/);
    // both Node stages start from that ARG (`${NODE_IMAGE}`), the two targets from the runtime base
    expect(stages.map((s) => [s.name, s.from.replace(/^\$\{(\w+)\}$/, 'ARG $1')])).toEqual([
      ['build', 'ARG NODE_IMAGE'],
      ['runtime', 'ARG NODE_IMAGE'],
      ['sidecar', 'runtime'],
      ['api', 'runtime'],
    ]);
  });

  it('run those images: the api and migrations from runtrace-api, the sidecar from runtrace-sidecar', () => {
    const migrate = ['node', 'dist/cli.js', 'migrate'];
    for (const [name, service] of ourServices) {
      const target = service.image.replace(/^runtrace-/, '');
      expect(service.build, name).toEqual({ context: '..', target });
      expect(stages.some((s) => s.name === target)).toBe(true);
    }
    expect(compose.services.api?.image).toBe('runtrace-api');
    expect(compose.services.sidecar?.image).toBe('runtrace-sidecar');
    expect(compose.services.migrate?.image).toBe('runtrace-api');
    expect(compose.services.migrate?.command).toEqual(migrate);
    expect(compose.services.api?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    const jobContainer = job.spec.template.spec.containers[0] as Container;
    expect(jobContainer.image).toMatch(/^runtrace-api:/);
    expect(jobContainer.command).toEqual(migrate);
    expect(apiContainer.image).toMatch(/^runtrace-api:/);
    expect(apiContainer.command).toBeUndefined(); // the image's CMD
    expect(sidecarContainer.image).toMatch(/^runtrace-sidecar:/);
  });
});

describe('deployment files: topology', () => {
  it('compose: postgres, redis, a ClickHouse server, each with a healthcheck the apps wait for', () => {
    expect(compose.services.postgres?.image).toMatch(/^postgres:15/);
    expect(compose.services.redis?.image).toMatch(/^redis:7/);
    expect(compose.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:/);
    for (const [name, service] of Object.entries(compose.services)) {
      if (name !== 'migrate') expect(service.healthcheck?.test?.length, name).toBeGreaterThan(0);
    }
    for (const [name, service] of ourServices) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} → ${dependency}`).toBeDefined();
        expect(condition).toBe(dependency === 'migrate' ? 'service_completed_successfully' : 'service_healthy');
      }
    }
    // the URLs name the compose services
    const config = loadApiConfig(processEnv.composeApi);
    for (const url of [config.databaseUrl, config.redisUrl, config.clickhouseUrl]) {
      expect(Object.keys(compose.services)).toContain(new URL(url as string).hostname);
    }
    for (const volume of Object.values(compose.services).flatMap((s) => s.volumes ?? [])) {
      expect(Object.keys(compose.volumes)).toContain(volume.split(':')[0]);
    }
  });

  it('kubernetes: the sidecar is a native sidecar (an init container with restartPolicy Always), not a second container', () => {
    expect(sidecarContainer.restartPolicy).toBe('Always');
    expect(pod.containers.map((c) => c.name)).toEqual(['api']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(job.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
  });

  it('kubernetes: the Service and PodDisruptionBudget select the api pods, ports by the names the pods declare', () => {
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const service = manifest('Service', 'runtrace-api');
    expect(service.spec.selector).toEqual(labels);
    const named = (apiContainer.ports ?? []).map((p) => p.name);
    for (const p of service.spec.ports as { targetPort: string }[]) expect(named).toContain(p.targetPort);
    const pdb = manifest('PodDisruptionBudget', 'runtrace-api');
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });

  it('kubernetes: requests sized for every container, memory limited, and kustomization lists every manifest', () => {
    for (const c of [...(pod.initContainers ?? []), ...pod.containers, ...job.spec.template.spec.containers]) {
      const resources = (c as { resources: { requests: { cpu: string; memory: string }; limits: { memory: string } } })
        .resources;
      expect(resources.requests.cpu, c.name).toMatch(/^\d+m?$/);
      expect(resources.requests.memory, c.name).toMatch(/^\d+(Mi|Gi)$/);
      expect(resources.limits.memory, c.name).toMatch(/^\d+(Mi|Gi)$/);
    }
    const kustomization = parseYaml(read(`${k8sDir}/kustomization.yaml`)) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(k8sFiles.filter((f) => f !== 'kustomization.yaml').sort());
  });
});
