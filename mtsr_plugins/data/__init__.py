"""mtsr_plugins.data (modules are imported by mtsr_plugins.registration)."""
