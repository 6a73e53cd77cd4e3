"""workflow: Vietnamese implementation plans (Kế hoạch) run as state machines.

The package is in layers, lowest first: the base modules here, then ``plan``, ``rules``,
``store``, ``ops`` and ``views``; each imports only the ones below it and nothing imports the
CLI. The table of what each holds is README's "Layout" (``tests/test_architecture.py``).
"""

__version__ = "0.1.0"
