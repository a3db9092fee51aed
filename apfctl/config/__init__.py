"""Configuration with APF's semantics: the factory INI, queue sections and their validation."""
