"""Baton's metrics for Prometheus: ``/metrics``, read from the database at scrape time.

``collector`` and ``series`` compute every series from the tables, so any web process
answers for the whole installation; ``counters`` counts the events no table keeps
(``increment("environment_builds", outcome="built")``); ``access`` decides who may
scrape; ``endpoint`` answers ``/metrics``. Nothing here is imported by settings but
``access``, which needs no app to be loaded.
"""
