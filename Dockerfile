# syntax=docker/dockerfile:1
# One image for every role: `tn3270-lb proxy|gateway|host-sim --config FILE` (docs/operations.md
# "Containers"). Node 26 is the Active LTS line (since 2026-10-28; Node 20 reached end of life
# on 2026-04-30); the code still runs on Node 20.18+ (package.json engines).
ARG NODE_VERSION=26.13.0
FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY bench ./bench
RUN npm run build

FROM node:${NODE_VERSION}-trixie-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-trixie-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/lib ./dist/lib
COPY --chown=node:node package.json ./
USER node
# TN3270 on an unprivileged port (map 23/992 in the Service); admin HTTP on its own port. The
# probe below is for gateways and proxies on admin port 3370; other roles set their own.
EXPOSE 3270 3370
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node","-e","require('http').get('http://127.0.0.1:3370/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# Node is not meant to be PID 1: tini forwards SIGTERM so the drain runs (no `--init` needed).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/lib/cli.js"]
# The demo on 0.0.0.0: its admin ports need a token, e.g. -e TN3270LB_ADMIN__TOKEN=$(openssl rand -hex 16).
CMD ["demo", "--bind", "0.0.0.0"]
