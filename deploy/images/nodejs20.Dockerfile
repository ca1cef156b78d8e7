# deploy/images/nodejs20.Dockerfile: the bot image the pod spec names for runtime nodejs20
# (the0/nodejs20:latest, reference §7.4), from Debian's packages. Debian 12 ships Node.js 18 (nodejs
# 18.20), not 20: the image keeps the name the pod spec uses and runs what Debian has; a bot that needs
# Node 20 features needs an image built from another source.
#   docker build -f deploy/images/nodejs20.Dockerfile -t the0/nodejs20:latest deploy/images
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      bash ca-certificates nodejs \
    && rm -rf /var/lib/apt/lists/*
CMD ["node"]
