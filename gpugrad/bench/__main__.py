"""``python -m gpugrad.bench``: see :mod:`gpugrad.bench.cli`."""

from .cli import main

raise SystemExit(main())
