"""Launching fine-tuning jobs, step by step: the dataset to launch, preflight checks, uploads, idempotent
creation and following jobs to the end. ``ftclient.jobs`` puts these together behind ``launch()`` and the
``Job`` handle."""
