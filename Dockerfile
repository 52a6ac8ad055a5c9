# The consumer image: `fds consume` and nothing else. Build from the repository root:
#   docker build -t fds-consumer:<tag> .
# The project is installed without its extras, so the image holds no Pulumi, no moto and no
# test tools.

FROM python:3.12.8-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY ml ./ml
COPY components ./components
COPY stacks ./stacks
RUN python -m venv /opt/fds \
    && /opt/fds/bin/pip install --no-cache-dir --disable-pip-version-check .

FROM python:3.12.8-slim-bookworm
# The same ids the Deployment's securityContext names.
RUN groupadd --system --gid 10001 fds \
    && useradd --system --uid 10001 --gid fds --no-create-home --shell /usr/sbin/nologin fds
COPY --from=build /opt/fds /opt/fds
ENV PATH=/opt/fds/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# /metrics, /healthz and /readyz.
EXPOSE 9100
ENTRYPOINT ["fds"]
CMD ["consume"]
