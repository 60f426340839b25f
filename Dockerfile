# The txscreen image used by docker-compose.yml: the CLI with its bundled watchlists.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY matchers matchers
COPY streams streams
# confluent-kafka ships manylinux wheels with librdkafka inside: no compiler needed.
RUN pip install . && useradd --system --no-create-home txscreen
USER txscreen

ENTRYPOINT ["txscreen"]
CMD ["run"]
