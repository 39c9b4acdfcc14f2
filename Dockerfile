# ecrcontrol: one image, three roles (web, worker, controller); see DESIGN.md.
# The project runs from /app (manage.py, templates/ and the packages side by side).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=ecrcontrol.settings DJANGO_STATIC_ROOT=/app/static \
    ECRCONTROL_DATA_DIR=/data
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin ecrcontrol \
    && mkdir /data && chown 10001 /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ecrcontrol ecrcontrol
COPY secrets_app secrets_app
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir -e '.[postgres]' \
    && DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput --verbosity 0
USER 10001
EXPOSE 8443
# The chart overrides the command per role: web (this), worker (qcluster), controller.
# The web role is HTTPS only: mount the serving certificate and key (e.g. from cert-manager) here.
ENV ECRCONTROL_TLS_CERT_FILE=/tls/tls.crt ECRCONTROL_TLS_KEY_FILE=/tls/tls.key
CMD ["gunicorn", "-c", "python:ecrcontrol.gunicorn", "ecrcontrol.wsgi"]
