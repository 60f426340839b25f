# The txscreen image used by docker-compose.yml: the CLI with its bundled watchlists.
# Stage 1 builds the wheel, native fast path included (Rust); stage 2 holds only the runtime.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 CARGO_HOME=/opt/cargo RUSTUP_HOME=/opt/rustup
ENV PATH=/opt/cargo/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends curl gcc libc6-dev ca-certificates \
    && curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY native native
COPY schemas schemas
COPY matchers matchers
COPY streams streams
RUN pip wheel --no-deps -w /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# confluent-kafka ships manylinux wheels with librdkafka inside: no compiler needed here.
RUN pip install /wheels/*.whl && rm -rf /wheels && useradd --system --no-create-home txscreen
USER txscreen

ENTRYPOINT ["txscreen"]
CMD ["run"]
