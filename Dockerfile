# syntax=docker/dockerfile:1
#
# Runtrace's images: one Dockerfile, two targets, each holding one self-contained deploy folder
# (`pnpm --filter <app> deploy --prod`), so the api image carries no sidecar and the other way round.
#
#   docker build --target api     -t runtrace-api .      # the api; the same image runs migrations:
#                                                          #   node dist/cli.js migrate
#   docker build --target sidecar -t runtrace-sidecar .  # the socket-telemetry receiver
#
# `docker build .` (no target) builds the api, the last stage.
# linux/amd64 only: the embedded ClickHouse (chdb) ships its native library for x64 glibc alone
# (@chdb/lib-linux-x64-gnu), and it is a dependency of @runtrace/core, hence of both folders. Debian (glibc) based
# images for the same reason: chdb does not load on musl (Alpine). Its libchdb.so and chdb_node.node link only libc,
# libm, libpthread, librt and libdl (glibc >= 2.25; bookworm has 2.36), all in the slim image; PGlite is WebAssembly
# and needs nothing.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: the whole workspace, compiled, then the two deploy folders -----------------------------------------------
FROM --platform=linux/amd64 ${NODE_IMAGE} AS build
# pnpm exactly as the repository pins it ("packageManager"); another version refuses the workspace.
RUN npm install --global pnpm@12.4.2
WORKDIR /src
# Dependencies first, from the lockfile alone: this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build
RUN pnpm --filter @runtrace/api deploy --prod /out/api \
 && pnpm --filter @runtrace/sidecar deploy --prod /out/sidecar

# ---- runtime base: Node alone, a non-root user, the directories the processes write --------------------------------
FROM --platform=linux/amd64 ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    RUNTRACE_DATA_DIR=/var/lib/runtrace
# /var/run/telemetry holds the sidecar's socket (TELEMETRY_SOCKET's default, Letta's path); /var/lib/runtrace the
# embedded data (PGlite, chdb) and the sidecar's files. Owned by `node` (uid 1000) so that the volumes mounted there
# start writable; the application files stay root's, read-only to the process.
RUN mkdir -p /var/lib/runtrace /var/run/telemetry \
 && chown node:node /var/lib/runtrace /var/run/telemetry
USER node

# ---- the sidecar -----------------------------------------------------------------------------------------------------
FROM runtime AS sidecar
WORKDIR /app/sidecar
COPY --from=build /out/sidecar ./
# No port to expose: it listens on the Unix socket; its /metrics is on 127.0.0.1 (RUNTRACE_SIDECAR_METRICS_PORT).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RUNTRACE_SIDECAR_METRICS_PORT || 9464) + '/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

# ---- the api (default target) ----------------------------------------------------------------------------------------
FROM runtime AS api
WORKDIR /app/api
COPY --from=build /out/api ./
# The api's own default is 127.0.0.1 (safe on a laptop); in a container it must answer on the container's address.
ENV HOST=0.0.0.0 \
    PORT=8283
# The HTTP api, and the OTLP/gRPC receiver (RUNTRACE_OTLP_GRPC_PORT).
EXPOSE 8283 4317
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8283) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 32 MB (V8's default is 16): an analytics answer holds thousands of rows until it is written, and
# copying them between too-small semi-spaces was half of its CPU (apps/tools/README.md, analytics).
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
