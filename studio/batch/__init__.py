"""Scoring many clips at once on Ray: jobs from a folder, manifest or timeline, one whole folder per clip.

:mod:`~studio.batch.inputs` reads the jobs, :mod:`~studio.batch.stages` runs the CLI's
pipeline stages for one clip, :mod:`~studio.batch.runner` schedules them on Ray (the only
module that needs it) and :mod:`~studio.batch.report` keeps ``batch.json``.
"""
