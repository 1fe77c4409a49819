# citypulse: the worker and the CLI (simulate, topics, dashboards push, ...).
#   docker build -t citypulse .   then   docker run --rm citypulse --help
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CITYPULSE_DATA_DIR=/tmp/citypulse

WORKDIR /src
# the package folders of pyproject.toml's package-dir mapping (the tests are not shipped)
COPY pyproject.toml README.md ./
COPY citypulse ./citypulse
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
COPY dashboards ./dashboards
RUN pip install . && useradd --uid 10001 --no-create-home citypulse

WORKDIR /app
USER citypulse
EXPOSE 9108
ENTRYPOINT ["citypulse"]
CMD ["worker"]
