"""The ``cnnlab`` command line: one module per command group, no logic beyond parsing and printing."""
