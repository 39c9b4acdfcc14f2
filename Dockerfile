# ecrcontrol: one image, three roles (web, worker, controller); the command picks the role (see the chart).
#
#   docker build -t ecrcontrol:0.1.0 .
#
# Stage 1 installs the pinned dependencies (from pyproject.toml) into a virtualenv; stage 2 is the
# runtime: no compiler, no pip cache, non-root, static files collected and bytecode compiled at build
# time so that the root filesystem can be read-only (the chart mounts /tmp and /data).
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY pyproject.toml /src/
RUN python -c "import tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres'] + p['optional-dependencies']['redis']))" > /src/requirements.txt \
    && /opt/venv/bin/pip install -r /src/requirements.txt

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=ecrcontrol.settings DJANGO_STATIC_ROOT=/app/static \
    ECRCONTROL_DATA_DIR=/data
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin ecrcontrol \
    && mkdir /data && chown 10001 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The image holds exactly the product: these four paths, nothing of the development stack (devstack/)
# nor the tests (tests/unit/test_image_contents.py checks that they stand alone).
COPY manage.py ./
COPY ecrcontrol ecrcontrol
COPY secrets_app secrets_app
COPY templates templates
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app /opt/venv
USER 10001
EXPOSE 8443
# The web role (this default) is HTTPS only: the chart mounts the serving certificate and key here.
# Each role's process handles SIGTERM itself (gunicorn, qcluster, controller), as PID 1 too.
ENV ECRCONTROL_TLS_CERT_FILE=/tls/tls.crt ECRCONTROL_TLS_KEY_FILE=/tls/tls.key
# glibc's malloc keeps up to 8 arenas per core for a process of many threads (web, worker and
# watch threads), each holding memory freed after a burst: 2 arenas hold less (measured at 3,000
# resources: 200 -> 188 MiB; README, benchmarks).
ENV MALLOC_ARENA_MAX=2
CMD ["gunicorn", "-c", "python:ecrcontrol.gunicorn", "ecrcontrol.wsgi"]
