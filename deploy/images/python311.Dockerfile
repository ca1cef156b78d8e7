# deploy/images/python311.Dockerfile: the bot image the pod spec names for runtime python3.11
# (the0/python311:latest, reference §7.4), from Debian's packages: bookworm's python3 is 3.11. The bot
# container runs `/bin/bash /bot/entrypoint.sh` as uid 1000 with /tmp writable.
#   docker build -f deploy/images/python311.Dockerfile -t the0/python311:latest deploy/images
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      bash ca-certificates python3 \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
