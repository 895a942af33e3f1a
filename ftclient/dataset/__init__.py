"""Datasets: read, map to a task, validate against a provider's rules, dedupe, split, write, describe.

``prepare`` (``ftclient.dataset.prepare``) turns a table of examples into a dataset folder;
``validate`` (``ftclient.dataset.validate``) checks an existing fine-tuning JSONL. Both stream their input.
"""
