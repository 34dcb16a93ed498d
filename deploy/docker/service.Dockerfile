# syntax=docker/dockerfile:1
# The service runtime: the web edge, the worker, the action server and the one-shot commands (migrate,
# create-user, campaign run). Python 3.12 with requirements/service.lock; no Rasa here (deploy/docker/rasa.Dockerfile).
# Build from the repository root:  docker build -f deploy/docker/service.Dockerfile -t recobra-service .
# The default command is the web edge; compose.yaml and deploy/k8s give each process its own command.

# --- build: a virtualenv from the lock, with whatever compiler a wheel-less pin needs ---------------------------
FROM python:3.12.1-slim-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements/service.lock /tmp/service.lock
RUN /opt/venv/bin/pip install --no-deps -r /tmp/service.lock \
    && /opt/venv/bin/pip check

# --- runtime: the virtualenv and the code only; no compiler, no pip cache, a user of its own --------------------
FROM python:3.12.1-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 recobra \
    && useradd --system --uid 10001 --gid recobra --no-create-home --home-dir /tmp --shell /usr/sbin/nologin recobra
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Read-only at run time: the code belongs to root, the process runs as recobra. RECOBRA_VAR_DIR is the one place
# the product writes (var/secrets.env, only for a secret the environment lacks): /tmp, a tmpfs/emptyDir.
COPY alembic.ini pyproject.toml ./
COPY config/ config/
COPY domain/ domain/
COPY bot/ bot/
COPY actions/ actions/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    RECOBRA_VAR_DIR=/tmp/recobra
USER 10001:10001
EXPOSE 8000 5055 8010
# The web edge's liveness (the default command); compose.yaml and the k8s probes check each process on its own port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "-m", "bot", "web", "--port", "8000", "--host", "0.0.0.0"]
