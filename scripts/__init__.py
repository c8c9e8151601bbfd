"""Long-running robustness scripts against a real gateway process: `scripts.fuzz` and `scripts.soak`."""
