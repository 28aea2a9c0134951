"""mtsr_plugins.archs (modules are imported by mtsr_plugins.registration)."""
