"""mtsr_plugins.models (modules are imported by mtsr_plugins.registration)."""
