"""Resource types (SCORE, MCORE, ...), pilot sizes and Harvester's queue limits.

ATLAS runs unified ("UCORE") PanDA queues: one queue holds jobs of several resource types
and the factory sends pilots of the right size for each type. This package holds the pure
parts, with no I/O: the type definitions (:mod:`.definitions`), a queue's types and size
(:mod:`.queueconf`), the pilot size per type (:mod:`.sizing`), Harvester's queue limits
(:mod:`.limits`) and the number of new pilots per type under them (:mod:`.newpilots`).
docs/resource-types.md explains the model and every formula with a worked example.
"""
