# Sitrep in a container: `docker build -t sitrep .` then
#   docker run -d --name sitrep -e DISCORD_TOKEN=... -v sitrep-data:/app/data sitrep
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --system --home /app --shell /usr/sbin/nologin sitrep

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY storage ./storage
COPY config.toml ./
RUN pip install . && mkdir -p /app/data && chown sitrep:sitrep /app/data

USER sitrep
VOLUME ["/app/data"]
# The token comes from the environment only (docker run -e DISCORD_TOKEN=... or a secret), never the image.
CMD ["python", "-m", "bot", "--config", "/app/config.toml", "run"]
