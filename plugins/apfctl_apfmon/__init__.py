"""apfctl's monitor plugin for apfmon, APF's monitoring web service (REST API v2).

After each cycle the factory, its queue labels, the new pilots and each label's last
message are sent in apfmon's formats, with short timeouts inside a bounded time budget.
What could not be sent waits in the state folder and goes first next cycle.
"""
