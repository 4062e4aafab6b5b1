"""Baton's metrics for Prometheus: ``/metrics``, read from the database at scrape time.

``series`` reads each group of series from the tables and ``collector`` gathers them,
so any web process answers for the whole installation; ``snapshot`` shares the latest
text between web processes through the cache; ``counters`` counts the events no table
keeps (``increment("environment_builds", outcome="built")``); ``access`` decides who
may scrape; ``endpoint`` answers ``/metrics``. Settings import ``access`` only, which
needs no app to be loaded.
"""
