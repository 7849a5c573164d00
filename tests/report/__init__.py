"""Tests of the report building blocks; `browser.py` is shared by any test that opens a page."""
