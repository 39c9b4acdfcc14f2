"""The worker role when it shares a process with the controller (see `threads`)."""
