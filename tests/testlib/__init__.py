"""Test-only helpers shared by several test directories (import as `tests.testlib.<module>`)."""
