"""`manage.py embedded`: the controller and worker roles in one process, without the web role
(`secrets_app.embedded`; the embedded default runs them inside the web role's process instead)."""

import signal

from secrets_app.embedded import Embedded

from .controller import Command as ControllerCommand


class Command(ControllerCommand):
    help = "Run the controller and the worker in one process (SQLite embedded default, small clusters)."
    # Django's system checks import every URLconf, view and serializer (about 10 MB this role never
    # uses); `migrate` runs them before the roles start.
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        embedded = Embedded()
        signal.signal(signal.SIGTERM, lambda *_: embedded.stop_event.set())
        self.host(embedded)
