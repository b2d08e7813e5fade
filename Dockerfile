# syntax=docker/dockerfile:1
# Newsdesk: docker build -t newsdesk . && docker run -p 8000:8000 newsdesk
# Two stages on the same base image: the Python environment (pip and a build backend), and
# the runtime, which gets only the finished /opt/newsdesk. The docs assets (Swagger UI and
# ReDoc) come with the fastapi-offline dependency.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A virtual environment without pip or setuptools: the base image's pip installs into it.
RUN python -m venv --without-pip /opt/newsdesk
WORKDIR /src
COPY pyproject.toml README.md ./
# The dependencies in a layer of their own: a change to the code alone leaves it cached.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && pip --python /opt/newsdesk/bin/python install -r /tmp/requirements.txt
COPY app app
COPY migrations migrations
RUN pip --python /opt/newsdesk/bin/python install --no-deps . \
    && /opt/newsdesk/bin/python -c "from app.docs import ASSETS, asset_path; [asset_path(name) for name in ASSETS]"

FROM python:3.11-slim
ENV PATH=/opt/newsdesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSDESK_DATABASE_URL=sqlite:////data/newsdesk.db \
    NEWSDESK_WORKERS=1
RUN groupadd --gid 10001 newsdesk \
    && useradd --uid 10001 --gid newsdesk --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin newsdesk \
    && mkdir /data \
    && chown newsdesk:newsdesk /data
COPY --from=build /opt/newsdesk /opt/newsdesk
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# Migrate (safe to repeat), then serve with NEWSDESK_WORKERS worker processes.
CMD ["sh", "-c", "newsdesk migrate && exec newsdesk serve --host 0.0.0.0 --port 8000"]
