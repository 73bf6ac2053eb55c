"""Shared by the samples' training scripts: byte-identical results from two runs on one machine."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def pinned_torch(seed: int, threads: int):
    """Seed and pin torch's process-wide settings for one run, then put them back: tests call
    train() in a process they share with other tests. Float reductions depend on how work is
    split between threads, so the thread count is part of the recipe."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        torch.set_num_threads(previous_threads)
