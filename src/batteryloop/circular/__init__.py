"""Circular decisions: chemistry, recycling processes, carbon footprint, compliance, routes, BaaS.

A pure domain layer: typed functions over pydantic results, no I/O. Every number comes from
:mod:`batteryloop.reference` (overridable) and every result lists the reference values it used.
"""
