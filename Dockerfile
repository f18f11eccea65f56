# quotarace's image: `quotarace` on the PATH, the bundled scenarios and the example strategy
# in its working directory, run as a non-root user (uid 1000). Used by `quotarace k8s-job`.
#   docker build -t registry.example/quotarace:1 .
#   docker run --rm registry.example/quotarace:1 quotarace run scenarios --allow-module scenarios/strategies --runs 200
# test/image.test.ts runs these steps without a container engine (a folder per stage, this
# machine's Node for the base image) and then a scenario with the result, as uid 1000.

# Stage 1: compile TypeScript with every dependency, dev ones included (@types/node).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Stage 2: production dependencies only, and the compiled dist/.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/quotarace
COPY package.json package-lock.json ./
# typescript is an optional dependency and stays: `quotarace check` needs it.
# --ignore-scripts: dist/ comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY scenarios ./scenarios
# `reports/` is where `quotarace run` writes by default: the only folder here the user may write.
RUN ln -s /opt/quotarace/bin/quotarace.js /usr/local/bin/quotarace && mkdir -p reports && chown 1000:1000 reports
# Numeric, so that a pod's runAsNonRoot can verify it (the image's "node" user).
USER 1000:1000
CMD ["quotarace", "--help"]
