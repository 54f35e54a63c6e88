# One image recipe for every convhub service. Build from the repository root:
#
#   docker build --build-arg SERVICE=ingest -t convhub/ingest:latest .
#   make images                     # every service, tagged convhub/<service>:latest
#
# SERVICE is a folder under services/ (ingest, router, dispatch-google, dispatch-meta,
# dispatch-tiktok, attribution); its Python package is the same name with '-' as '_'.
# The image holds a virtualenv with libs/genproto, libs/kit and that service, runs as the
# unprivileged uid/gid 10001 (the Kubernetes manifests require it) and, by default, runs
# `python -m <package>.main`. The same image runs the schema migration as a Job:
# `python -m <package>.migrate`. It also carries the `convhub` command (libs/cli, with
# libs/simulators it depends on), which scheduled Jobs run (the hubspot-sync CronJob:
# `convhub sources sync hubspot`) and an operator can `kubectl exec`.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with the service and what it needs ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src

# The shared libraries first, before SERVICE is declared: this layer is the same for every
# service, so `make images` builds it once and reuses it for the other five.
COPY constraints.txt ./
COPY libs/genproto libs/genproto
COPY libs/kit libs/kit
COPY libs/simulators libs/simulators
COPY libs/cli libs/cli
RUN python -m venv /venv \
    && /venv/bin/pip install -c constraints.txt ./libs/genproto ./libs/kit \
        ./libs/simulators ./libs/cli

ARG SERVICE
RUN if [ -z "${SERVICE}" ]; then \
        echo "SERVICE is not set: build with --build-arg SERVICE=<a folder of services/>" >&2; \
        exit 1; \
    fi
COPY services/${SERVICE} services/${SERVICE}
# Install the service, check that its entry points exist, and write the launcher the image's
# CMD runs (a Dockerfile cannot turn SERVICE into the package name by itself).
RUN set -eu; \
    package="$(printf '%s' "${SERVICE}" | tr '-' '_')"; \
    for module in main migrate; do \
        if [ ! -f "services/${SERVICE}/src/${package}/${module}.py" ]; then \
            echo "services/${SERVICE} has no src/${package}/${module}.py" >&2; exit 1; \
        fi; \
    done; \
    /venv/bin/pip install -c constraints.txt "./services/${SERVICE}"; \
    /venv/bin/python -c "import importlib.util, sys; \
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]; \
sys.exit(f'not importable: {missing}' if missing else 0)" "${package}.main" "${package}.migrate"; \
    printf '#!/bin/sh\n# convhub %s: the service process (python -m %s.main)\nexec python -m %s.main "$@"\n' \
        "${SERVICE}" "${package}" "${package}" > /venv/bin/convhub-service; \
    chmod 0755 /venv/bin/convhub-service

# --- runtime: the virtualenv only, as a non-root user ----------------------------------------
FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN groupadd --system --gid 10001 convhub \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin convhub
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OTEL_SERVICE_NAME=${SERVICE} \
    CONVHUB_GRPC_PORT=50051
LABEL org.opencontainers.image.title="convhub-${SERVICE}" \
      org.opencontainers.image.description="convhub ${SERVICE} service"
USER 10001:10001
EXPOSE 50051
# python -m <package>.main (see the launcher above); Kubernetes sets the same command explicitly.
CMD ["convhub-service"]
