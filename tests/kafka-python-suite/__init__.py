# Makes kafka-python's test/ directory a package (the sdist omits this file), so that
# `from test.testutil import ...` in its fixtures resolves to it rather than to the
# standard library's `test` package. Copied in by scripts/kafka-python-suite.
