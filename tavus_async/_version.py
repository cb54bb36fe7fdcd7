"""The installed version; the single source read by the build (see pyproject.toml)."""

__version__ = "0.1.0.dev0"
