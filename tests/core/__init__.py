"""Tests of the platform underneath (chalicelib/core): money, validation, telemetry, secrets."""
