"""The work: each module is one piece of logic; entry points (tasks, commands, admin) call these."""
