"""apfctl's embedded default backends: Local pilots as processes, the File WMS and File queue config."""
