"""What ``apfctl clean`` does on the factory's side: removing old pilot log folders.

Pilots themselves (held, stale) are cleaned by their backend (``BatchSubmitPlugin.clean``).
"""
