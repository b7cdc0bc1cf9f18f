"""Circular decisions: chemistry, recycling processes, carbon footprint, compliance, routes, BaaS."""
