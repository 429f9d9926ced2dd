# syntax=docker/dockerfile:1
# Multi-stage: production dependencies are installed in one stage and copied into a slim, non-root runtime.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# NODE_OPTIONS: the service's Node flags (src/node-flags.ts says why); set it to add or override.
ENV NODE_ENV=production LOG_FORMAT=json NODE_OPTIONS="--max-semi-space-size=16"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step to get wrong.
USER node
EXPOSE 8080 9464 8787
ENTRYPOINT ["node", "bin/purge-worker.js"]
CMD ["start", "--role", "all"]
