"""Adapters to files and data-frame libraries; each imports its library only when used."""
