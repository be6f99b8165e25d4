"""
Configuration: immutable values loaded from one YAML file.
"""

from akto_proxy.config.loader import DEFAULT_PATH, hashKey, loadConfig, parseConfig
from akto_proxy.config.model import Config
from akto_proxy.config.reader import ConfigError

__all__ = ["Config", "ConfigError", "DEFAULT_PATH", "hashKey", "loadConfig", "parseConfig"]
