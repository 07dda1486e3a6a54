"""Measurements of trained learners: pure functions returning named arrays, vmappable over members."""
