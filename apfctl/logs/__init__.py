"""Pilot log folders (``baseLogDir/YYYY-MM-DD/<queue>/``): their clean-up and their HTTP server."""
