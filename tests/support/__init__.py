"""Helpers shared by tests (``from support.beir import toy_dataset``): no tests here.

``tests/`` is on ``sys.path`` (pyproject's ``[tool.pytest.ini_options] pythonpath``), so
this package imports as ``support`` from any test file.
"""
