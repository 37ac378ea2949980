FROM python:3.11-slim-bookworm

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       apertium apertium-apy apertium-eng-spa apertium-fr-es apertium-es-pt apertium-eng-cat \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY workers workers
COPY config config
COPY demo demo
RUN pip install --no-cache-dir .

CMD ["parley", "worker"]
