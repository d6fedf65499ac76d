"""Settings: environment (QTS_*), .env, and a YAML profile; embedded mode by default."""

from qts.config.settings import ProfileSettings, Settings, get_settings, reset_settings_cache

__all__ = ["ProfileSettings", "Settings", "get_settings", "reset_settings_cache"]
