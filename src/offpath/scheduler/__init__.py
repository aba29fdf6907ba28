"""The scheduler: hosts filtered and weighed from in-memory pool summaries; atomic claims."""
