# syntax=docker/dockerfile:1
#
# Annotation Orchestrator image: one image, three roles (`api`, `worker`, `migrate`).
#   docker build -t annotation-orchestrator .
#   docker run --rm annotation-orchestrator api      # or: worker, migrate
# See docs/docker-compose.md for the whole stack.

ARG NODE_IMAGE=node:20-bookworm-slim

##### build: install everything, compile TypeScript, then drop dev dependencies #####
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Dependencies first, so that source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
# The web app (app/), bundled by scripts/build-app.ts into dist/app, served at /app.
COPY app ./app
COPY scripts/build-app.ts ./scripts/build-app.ts

# tsc -p tsconfig.build.json -> dist/src, dist/workflows, dist/activities, dist/migrations; esbuild -> dist/app
RUN npm run build \
 && npm prune --omit=dev \
 && npm cache clean --force

##### runtime: production dependencies, compiled output, workflow sources; non-root #####
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    npm_config_update_notifier=false
WORKDIR /app

# Files stay owned by root (read-only for the service); only DATA_DIR is writable.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The Temporal worker bundles workflow code when it starts (from dist/workflows, resolved
# next to the compiled worker); the TypeScript sources ship too (source maps point at them).
COPY --from=build /app/workflows ./workflows
RUN mkdir -p /app/.data && chown node:node /app/.data

# `node` (uid 1000) comes with the official Node.js images.
USER node

EXPOSE 3000
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["api"]
