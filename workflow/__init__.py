"""workflow: Vietnamese implementation plans (Kế hoạch) run as state machines.

Modules, lowest first: errors, dates, clock, definitions, machine, models, store, audit,
escalation, engine (+ upgrade), reports, render, logs, scheduler. Nothing here imports the CLI.
"""

__version__ = "0.1.0"
