"""The conductor: boots and deletes orchestrated across the API and cell databases."""
