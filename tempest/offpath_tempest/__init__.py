"""`make tempest`: OpenStack's Tempest, unchanged, against a real `offpath serve`."""
