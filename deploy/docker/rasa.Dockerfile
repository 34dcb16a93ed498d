# syntax=docker/dockerfile:1
# The Rasa runtime: Rasa 3.6 on Python 3.10.13 with requirements/rasa.lock, Recobra's channels and NLU components,
# and the trained model. Build from the repository root after `make model` (models/recobra.tar.gz):
#   docker build -f deploy/docker/rasa.Dockerfile -t recobra-rasa .
# The model is baked in at /app/models; to serve another one, mount a folder holding it over /app/models.
# Rasa's endpoints.yml and credentials.yml are not in the image: they come from deploy/k8s/base/rasa/ (a ConfigMap
# in Kubernetes, a config file in compose.yaml), naming every secret as ${VARIABLE} for Rasa to expand.

# --- build: a virtualenv from the lock, with whatever compiler a wheel-less pin needs ---------------------------
FROM python:3.10.13-slim-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements/rasa.lock /tmp/rasa.lock
RUN /opt/venv/bin/pip install --no-deps -r /tmp/rasa.lock \
    && /opt/venv/bin/pip check

# --- runtime: the virtualenv, the code Rasa loads and the model; no compiler, a user of its own -----------------
FROM python:3.10.13-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 recobra \
    && useradd --system --uid 10001 --gid recobra --no-create-home --home-dir /tmp --shell /usr/sbin/nologin recobra
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY channels/ channels/
COPY components/ components/
COPY models/recobra.tar.gz models/recobra.tar.gz
# Rasa unpacks the model into a temporary folder and keeps its telemetry settings under HOME: both /tmp, a
# tmpfs/emptyDir, so the root file system stays read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_TELEMETRY_ENABLED=false
USER 10001:10001
EXPOSE 5005
# Rasa answers GET / with "Hello from Rasa" once the model is loaded (about a minute on a small machine).
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=2)"]
CMD ["python", "-m", "channels.rasa_server", "run", "--enable-api", "-i", "0.0.0.0", "-p", "5005", \
     "--model", "/app/models", "--endpoints", "/etc/recobra/rasa/endpoints.yml", \
     "--credentials", "/etc/recobra/rasa/credentials.yml", "--cors", ""]
