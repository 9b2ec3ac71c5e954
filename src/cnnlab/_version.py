"""The package version, in a module of its own so that any part of cnnlab can record it without
importing the package root (which imports the rest)."""

__version__ = "0.1.0"
