"""Keystone v3 identity: domains, projects, users, roles, signed tokens and the catalog."""
