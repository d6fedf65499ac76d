# syntax=docker/dockerfile:1.7
# The ML worker (queue `ml`) and the model-serving process, with a CUDA build of torch.
# torch stays at the project's pin (2.13.0); TORCH_INDEX picks the CUDA wheel set. The NVIDIA
# container toolkit on the host provides the driver; the CUDA runtime comes with the wheels.
# Build from the repository root:  docker build -f docker/Dockerfile.ml -t qts-ml .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/qts
RUN /opt/qts/bin/pip install --index-url "${TORCH_INDEX}" torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/qts/__init__.py src/qts/__init__.py
RUN /opt/qts/bin/pip install ".[ml,rl,workers]" && /opt/qts/bin/pip uninstall -y qts
COPY src ./src
RUN /opt/qts/bin/pip install --no-deps ".[ml,rl,workers]"

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="qts-ml" \
      org.opencontainers.image.licenses="Apache-2.0"
# libgomp: LightGBM's OpenMP runtime (not in the slim image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 qts \
    && useradd --system --uid 10001 --gid qts --home-dir /var/lib/qts --create-home qts
COPY --from=build /opt/qts /opt/qts
ENV PATH=/opt/qts/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    QTS_PROFILE=production \
    QTS_DATA_DIR=/var/lib/qts
USER qts
WORKDIR /var/lib/qts
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD celery -A qts.workers.celery_app inspect ping --timeout 5 -d "celery@$HOSTNAME" || exit 1
CMD ["qts", "worker", "--queues", "ml", "--concurrency", "1"]
