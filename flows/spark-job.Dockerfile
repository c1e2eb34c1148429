# The image the EMR Serverless build job runs (`umwi:sparkEngine: emr-serverless`): EMR's
# own Spark 3.5 and pyspark, plus Python 3.11 with umwi-transform (docs/scale-out.md).
# Build context: the repository root. Built, pushed and set on the application by
# .github/workflows/flows-deploy.yml, never by this repository's tests (they have no
# Docker registry and no Amazon Linux).
#
# The EMR base is pinned by its dated tag; the workflow resolves that tag to a digest and
# passes it in (EMR_BASE_DIGEST, no default: a build without it fails), so the image is
# built from a digest, which its labels and the workflow's summary record
# (flows/README.md, "Image pins").
ARG EMR_BASE_IMAGE=public.ecr.aws/emr-serverless/spark/emr-7.5.0:20241125
ARG EMR_BASE_DIGEST

# The same uv as the flow image's.
FROM ghcr.io/astral-sh/uv:0.13.0@sha256:cdc6093146eb3ff6a40107b38f008b789e050e77ad87865e381d9917da55a168 AS uv

FROM ${EMR_BASE_IMAGE}@${EMR_BASE_DIGEST}
ARG EMR_BASE_IMAGE
ARG EMR_BASE_DIGEST
LABEL org.opencontainers.image.base.name="${EMR_BASE_IMAGE}" \
      org.opencontainers.image.base.digest="${EMR_BASE_DIGEST}"
USER root
# Amazon Linux 2023's Python 3.11 (EMR 7's default python3 is older than umwi's 3.11).
RUN dnf install -y python3.11 && dnf clean all
COPY --from=uv /uv /usr/local/bin/uv
# Every workspace member's pyproject.toml: uv needs the whole workspace to read the lock.
COPY pyproject.toml uv.lock /tmp/umwi-build/
COPY packages/umwi-core/pyproject.toml /tmp/umwi-build/packages/umwi-core/pyproject.toml
COPY packages/umwi-connectors/pyproject.toml /tmp/umwi-build/packages/umwi-connectors/pyproject.toml
COPY packages/umwi-transform/pyproject.toml /tmp/umwi-build/packages/umwi-transform/pyproject.toml
COPY packages/umwi-quality/pyproject.toml /tmp/umwi-build/packages/umwi-quality/pyproject.toml
COPY packages/umwi-cli/pyproject.toml /tmp/umwi-build/packages/umwi-cli/pyproject.toml
COPY api/pyproject.toml /tmp/umwi-build/api/pyproject.toml
COPY flows/pyproject.toml /tmp/umwi-build/flows/pyproject.toml
COPY stacks/pyproject.toml /tmp/umwi-build/stacks/pyproject.toml
COPY packages/umwi-core /tmp/umwi-build/packages/umwi-core
COPY packages/umwi-transform /tmp/umwi-build/packages/umwi-transform
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
# umwi-transform and its dependencies at their locked versions (they hold what ibis's
# pyspark backend needs), without pyspark: the job runs EMR's own Spark 3.5 Python API,
# which talks to EMR's JVM.
RUN cd /tmp/umwi-build \
 && uv export --frozen --no-dev --no-editable --package umwi-transform --output-file requirements.txt \
 && uv venv --python /usr/bin/python3.11 /opt/umwi \
 && uv pip install --python /opt/umwi/bin/python --no-deps --requirement requirements.txt \
 && cd / && rm -rf /tmp/umwi-build /root/.cache/uv
# Fail the build, not the first job, when umwi or EMR's pyspark cannot load on this Python.
RUN SPARK_PYTHON="${SPARK_HOME:-/usr/lib/spark}/python" \
 && PYTHONPATH="$(ls "$SPARK_PYTHON"/lib/py4j-*-src.zip):$SPARK_PYTHON" /opt/umwi/bin/python -c \
    "import pyspark, ibis.backends.pyspark, umwi_transform.spark, umwi_transform.emr; assert pyspark.__version__.startswith('3.5'), pyspark.__version__"
# Spark's Python workers and driver run this interpreter.
ENV PYSPARK_PYTHON=/opt/umwi/bin/python
# EMR Serverless runs its images as hadoop.
USER hadoop:hadoop
