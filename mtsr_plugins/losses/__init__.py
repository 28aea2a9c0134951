"""mtsr_plugins.losses (modules are imported by mtsr_plugins.registration)."""
