FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY anxin anxin
COPY devices devices
COPY gateway gateway
COPY processors processors
COPY alerts alerts
COPY simulators simulators
COPY api api
COPY broker broker
RUN pip install --no-cache-dir . "psycopg[binary]>=3.1"
USER nobody
