"""`make run`: ecrcontrol on the embedded defaults, until Ctrl-C.

Starts (unless real ones are configured) a local control plane and a local ECR, migrates the
database, creates an admin login, installs the CRDs, runs the three roles as the embedded default
does (one process: gunicorn over TLS hosting the controller and worker roles, ECRCONTROL_EMBEDDED),
applies a sample ClusterAWSECRImagePullSecret for two namespaces and prints its Ready status.
Then it replaces itself (same PID) with the lean supervisor in devstack/supervise.py, which holds
those processes until Ctrl-C without the 135 MiB of Django and its clients loaded here.
"""

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from django import db
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from devstack import binaries, supervise
from devstack.processes import Process
from devstack.stack import kubernetes_and_ecr, say, terminate_on_sigterm
from devstack.webserver import WebServer
from secrets_app.kube.api import Kube
from secrets_app.webhooks import registration

# With the local ECR, the operator's own AWS identity (what IRSA or an instance profile gives it in
# AWS): a ClusterAWSECRImagePullSecret with no keys uses it. The local front accepts any signed key.
LOCAL_OPERATOR_IDENTITY = {"AWS_ACCESS_KEY_ID": "AKIALOCALOPERATOR001"}


class Command(BaseCommand):
    help = "Run ecrcontrol against a local control plane and a local ECR (or the configured ones)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("ECRCONTROL_PORT", "8443")))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port: int, host: str, **options) -> None:
        terminate_on_sigterm()
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            # Every temp dir of this run in one, which the supervisor removes when it stops.
            run_dir = Path(tempfile.mkdtemp(prefix="ecrcontrol-run-"))
            stack.callback(shutil.rmtree, run_dir, ignore_errors=True)
            tempfile.tempdir = str(run_dir)
            processes: list[Process] = []
            env = stack.enter_context(kubernetes_and_ecr(processes))
            call_command("migrate", interactive=False, verbosity=0)
            username, password = self._admin_login()
            child_env = {**os.environ, **env, "PATH": f"{binaries.ensure_binaries()}:{os.environ['PATH']}"}
            kubectl = [str(binaries.ensure_binaries() / "kubectl")]
            subprocess.run(
                [*kubectl, "apply", "--server-side", "-f", str(settings.BASE_DIR / "chart" / "crds")],
                env=child_env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [
                    *kubectl,
                    "wait",
                    "--for=condition=Established",
                    "crd",
                    "-l",
                    "app.kubernetes.io/part-of=ecrcontrol",
                ],
                env=child_env,
                check=True,
                capture_output=True,
            )
            # MALLOC_ARENA_MAX as the image sets it (Dockerfile).
            web_env = {**child_env, "ECRCONTROL_EMBEDDED": "1", "MALLOC_ARENA_MAX": "2"}
            if "AWS_ENDPOINT_URL_ECR" in env:  # the local ECR: the operator gets an identity of its own
                web_env.update(LOCAL_OPERATOR_IDENTITY, AWS_SECRET_ACCESS_KEY=secrets.token_urlsafe(30))
            web = stack.enter_context(WebServer(web_env, host=host, port=port))
            processes.append(web.process)
            if "KUBECONFIG" in env:  # our own control plane: its API server can reach this server
                registration.register(Kube.connect(env["KUBECONFIG"]), web.url, web.ca.cert_pem)
            try:
                if "AWS_ENDPOINT_URL_ECR" in env:  # only with the local ECR: real AWS needs real keys
                    self._apply_sample(kubectl, child_env, web.process)
                url = web.url
                say("")
                say("ecrcontrol is running.")
                for name, value in env.items():
                    say(f"export {name}={value}")
                say(f"export PATH={child_env['PATH'].split(':', 1)[0]}:$PATH")
                say(f"Admin:  {url}/admin/  (login {username} / {password}; CA: {web.ca_file})")
                if "AWS_ENDPOINT_URL_ECR" in env:
                    key_id = LOCAL_OPERATOR_IDENTITY["AWS_ACCESS_KEY_ID"]
                    say(f"The operator's own AWS identity: {key_id} (local)")
                if "KUBECONFIG" in env:
                    say(f"Webhooks: {url}/webhooks/mutate and /validate, registered with the control plane")
                say(f"Logs:   {web.log_path}")
            except KeyboardInterrupt:
                say("Stopping...")
                return
            db.connections.close_all()
            supervise.hand_over(processes, run_dir)  # which says "Press Ctrl-C to stop."

    def _apply_sample(self, kubectl: list[str], env: dict, web: Process) -> None:
        sample = settings.BASE_DIR / "devstack" / "sample.yaml"
        subprocess.run([*kubectl, "apply", "-f", str(sample)], env=env, check=True, capture_output=True)
        result = subprocess.run(
            [*kubectl, "wait", "--for=condition=Ready", "caeps/sample", "--timeout=60s"],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise web.fail(f"did not make the sample Ready: {result.stderr.strip()}")
        listing = subprocess.run(
            [*kubectl, "get", "caeps", "-o", "wide"], env=env, capture_output=True, text=True
        )
        say("")
        say(f"Sample applied ({sample}):")
        say(listing.stdout.rstrip())

    def _admin_login(self) -> tuple[str, str]:
        username = os.environ.get("ECRCONTROL_ADMIN_USER", "admin")
        password = os.environ.get("ECRCONTROL_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return username, password
