"""mtsr_plugins.utils (modules are imported by mtsr_plugins.registration)."""
