"""mtsr_plugins.metrics (modules are imported by mtsr_plugins.registration)."""
