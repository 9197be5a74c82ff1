"""Task classes; ``luisy.tasks.base`` keeps the luisy 1.x import paths."""
