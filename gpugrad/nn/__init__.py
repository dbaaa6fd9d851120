"""gg.nn: Module, Parameter, layers and losses (being written)."""
