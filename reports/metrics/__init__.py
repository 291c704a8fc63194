"""Prometheus metrics: a tenant's figures (``/api/v1/metrics``) and the operators'
(``/metrics``), each built per scrape from the database and Redis, so every web process
answers the same whole figures."""
