"""apfctl's Slurm backend: pilots as Slurm job arrays, driven through Slurm's client commands.

``Slurm`` is both a batch submit plugin (:mod:`apfctl_slurm.submit`: ``sbatch``, ``scancel``)
and a batch status plugin (:mod:`apfctl_slurm.batchstatus`: one ``squeue`` per cluster, and
``sacct`` or the job-completion log for pilots that ended). Every pilot's job name and comment
carry the factory id, the queue and the cycle (:mod:`apfctl_slurm.tags`). Operator guide:
``docs/slurm.md``.
"""
