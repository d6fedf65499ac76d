"""Settings: environment (QTS_*), .env, and a YAML profile; embedded mode by default."""

from qts.config.settings import Settings, get_settings, reset_settings_cache

__all__ = ["Settings", "get_settings", "reset_settings_cache"]
