"""apfctl's ``Metrics`` monitor plugin: each cycle leaves a Prometheus textfile for node_exporter."""
